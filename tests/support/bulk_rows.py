"""Bulk rows for load and exhaustion checks (tests and bench/abuse.py): many long ledger lines, loaded fast."""

from __future__ import annotations

import uuid

import asyncpg


async def add_bulk_receipts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, warehouse_id: uuid.UUID, rows: int, reference_chars: int = 600
) -> None:
    """``rows`` receipts with ``reference_chars``-long references, spread over 100 new products (the ledger
    trigger updates each product's level row per movement: one hot row would make the load quadratic)."""
    products = [uuid.uuid4() for _ in range(100)]
    await conn.executemany(
        "INSERT INTO app.products (id, tenant_id, sku, name) VALUES ($1, $2, $3, $3)",
        [(p, tenant_id, f"BULK-{i}") for i, p in enumerate(products)],
    )
    await conn.copy_records_to_table(
        "stock_movements",
        schema_name="app",
        columns=["tenant_id", "product_id", "warehouse_id", "movement_type", "quantity", "reference"],
        records=[
            (tenant_id, products[i % 100], warehouse_id, "receipt", 1, f"bulk receipt {i:08d} " + "r" * reference_chars)
            for i in range(rows)
        ],
    )
