"""Risk fixtures: suppliers with hand-built histories, written as the owner role (arrangement only)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from common.database import Database, TenantTransaction
from tests.support.rows import insert

TODAY = date(2026, 6, 1)


@dataclass
class RiskWorld:
    """Helpers bound to one tenant: add suppliers, deliveries, certifications, audits, orders."""

    tenant: Any
    pool: asyncpg.Pool
    database: Database

    async def supplier(self, code: str, country: str | None = "DE", **profile: Any) -> uuid.UUID:
        async with self.pool.acquire() as conn:
            supplier_id: uuid.UUID = await conn.fetchval(
                "INSERT INTO app.suppliers (tenant_id, code, name, country) VALUES ($1, $2, $2, $3) RETURNING id",
                self.tenant.id,
                code,
                country,
            )
            if profile:
                columns = ", ".join(profile)
                values = ", ".join(f"${i + 3}" for i in range(len(profile)))
                await conn.execute(
                    f"INSERT INTO app.supplier_risk_profiles (tenant_id, supplier_id, {columns}) "
                    f"VALUES ($1, $2, {values})",
                    self.tenant.id,
                    supplier_id,
                    *profile.values(),
                )
        return supplier_id

    async def deliveries(
        self,
        supplier_id: uuid.UUID,
        count: int,
        *,
        delay_days: int,
        lead_days: int = 10,
        start: date = TODAY - timedelta(days=300),
        rejected: Decimal = Decimal(0),
        received_share: Decimal = Decimal(1),
        product_id: uuid.UUID | None = None,
        mode: str = "road",
    ) -> None:
        rows = []
        for i in range(count):
            ordered = start + timedelta(days=i * 3)
            promised = ordered + timedelta(days=lead_days)
            key = hashlib.sha256(f"{supplier_id}|{ordered}|{i}|{delay_days}".encode()).hexdigest()
            rows.append(
                (
                    self.tenant.id,
                    supplier_id,
                    product_id,
                    mode,
                    ordered,
                    promised,
                    promised + timedelta(days=delay_days),
                    Decimal(100),
                    Decimal(100) * received_share,
                    rejected,
                    Decimal(1000),
                    key,
                )
            )
        async with self.pool.acquire() as conn:
            await conn.executemany(
                "INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, product_id, shipment_mode, order_date, "
                "promised_date, delivered_date, quantity, quantity_received, quantity_rejected, value, import_key) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                rows,
            )

    async def certification(self, supplier_id: uuid.UUID, standard: str, expires_on: date) -> uuid.UUID:
        async with self.pool.acquire() as conn:
            cert_id: uuid.UUID = await insert(
                conn, "supplier_certifications", tenant_id=self.tenant.id, supplier_id=supplier_id,
                standard=standard, expires_on=expires_on,
            )  # fmt: skip
        return cert_id

    async def audit(self, supplier_id: uuid.UUID, audited_on: date, score: float, outcome: str) -> None:
        async with self.pool.acquire() as conn:
            await insert(
                conn, "supplier_audits", tenant_id=self.tenant.id, supplier_id=supplier_id, audited_on=audited_on,
                score=Decimal(str(score)), outcome=outcome, next_due=audited_on + timedelta(days=365),
            )  # fmt: skip

    async def open_order(
        self,
        supplier_id: uuid.UUID,
        *,
        expected: date | None,
        issued: date,
        unit_price: Decimal = Decimal(2),
        currency: str = "EUR",
        status: str = "issued",
    ) -> uuid.UUID:
        async with self.pool.acquire() as conn:
            order_id: uuid.UUID = await conn.fetchval(
                "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, "
                "status, issued_at, created_at) VALUES ($1, $2, $3, $6, $4, $7, "
                "CASE WHEN $7 <> 'draft' THEN $5::date END, $5::date) RETURNING id",
                self.tenant.id,
                supplier_id,
                self.tenant.warehouses[0],
                expected,
                issued,
                currency,
                status,
            )
            await insert(
                conn, "purchase_order_lines", tenant_id=self.tenant.id, purchase_order_id=order_id, line_no=1,
                product_id=self.tenant.products[0], quantity=10, uom="each", uom_factor=1, quantity_base=10,
                unit_price=unit_price,
            )  # fmt: skip
        return order_id

    async def run(self, operation: Callable[[TenantTransaction], Awaitable[Any]], user: Any = None) -> Any:
        return await self.database.run(self.tenant.claims(user), self.tenant.id, operation)


@pytest.fixture
async def world(make_tenant, owner_pool, database) -> RiskWorld:
    return RiskWorld(await make_tenant(), owner_pool, database)


@pytest.fixture
async def other_world(make_tenant, owner_pool, database) -> RiskWorld:
    return RiskWorld(await make_tenant(), owner_pool, database)
