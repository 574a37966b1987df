"""Helpers for ERP sync tests: fast retry settings, connector set-up and a snapshot of what a tenant holds."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from common.database import Database, TenantTransaction
from integrations import store
from integrations.connector import Connector
from integrations.crypto import cipher_from_key
from integrations.http import RetryPolicy
from integrations.push import push_purchase_order
from integrations.records import Entity
from integrations.schemas import ConnectorCreate
from integrations.sync import SyncDeps, run_sync
from inventory import events, purchasing
from inventory.purchasing_schemas import PurchaseOrderCreate
from tests.support.fakes import dynamics
from tests.support.fakes.base import FakeServer
from tests.support.fakes.dynamics import FakeDynamics
from tests.support.fakes.sap import FakeSap, populate

TEST_KEY = "Y2hhaW5zaWdodC1kZXYtb25seS1pbnRlZ3JhdGlvbnM="


@pytest.fixture(scope="session")
def sync_deps(database: Database) -> SyncDeps:
    return SyncDeps(
        database=database,
        cipher=cipher_from_key(TEST_KEY),
        retry=RetryPolicy(max_attempts=3, backoff_s=0.01, max_delay_s=2.0, timeout_s=5.0),
        page_size=4,
    )


async def configure(sync_deps: SyncDeps, tenant: Any, **fields: Any) -> uuid.UUID:
    """Configure a connector as the tenant's admin; returns its id."""
    data = ConnectorCreate.model_validate({"name": "erp", **fields})

    async def op(tx: TenantTransaction) -> dict:
        return await store.create_connector(tx, data, sync_deps.cipher)

    row = await sync_deps.database.run(tenant.claims(tenant.admin), None, op)
    connector_id: uuid.UUID = row["id"]
    return connector_id


ODOO_MAPPING = {"units": {"Units": "each"}, "default_currency": "EUR"}


async def odoo_connector(
    sync_deps: SyncDeps,
    tenant: Any,
    url: str,
    name: str = "erp",
    *,
    api_key: str = "odoo-key",
    options: dict[str, Any] | None = None,
    **fields: Any,
) -> uuid.UUID:
    """An Odoo connector for the fake Odoo at ``url`` (database ``prod``, its sample units and currency)."""
    return await configure(
        sync_deps,
        tenant,
        name=name,
        kind="odoo",
        base_url=url,
        options=options or {"database": "prod"},
        credentials={"username": "sync@example.com", "api_key": api_key},
        mapping=ODOO_MAPPING,
        **fields,
    )


SAP_MAPPING = {"units": {"PC": "each", "KGM": "kg"}, "warehouses": {"1010": "WH-0", "1020": "WH-1"}}


@pytest.fixture
def sap() -> Iterator[FakeSap]:
    """A fake SAP Gateway on loopback holding populate's sample plants, suppliers, products, stock and orders."""
    with FakeSap() as fake:
        populate(fake)
        yield fake


async def sap_tenant(
    sync_deps: SyncDeps,
    owner_pool: asyncpg.Pool,
    make_tenant: Any,
    fake: FakeSap,
    password: str = "sap-secret",  # noqa: S107
    credentials: dict[str, str] | None = None,
) -> tuple[Any, uuid.UUID]:
    """A tenant with no products (its warehouses WH-0 and WH-1, onto which the plants map) and a SAP connector
    for ``fake``; returns (the tenant, the connector's id)."""
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await conn.execute("DELETE FROM app.products WHERE tenant_id = $1", tenant.id)
    connector = await configure(
        sync_deps,
        tenant,
        kind="sap",
        base_url=fake.url,
        credentials=credentials or {"username": "COMM_USER", "password": password},
        mapping=SAP_MAPPING,
    )
    return tenant, connector


DYNAMICS_MAPPING = {"units": {"PCS": "each"}, "default_currency": "USD", "default_warehouse": "MAIN"}


@pytest.fixture
def bc() -> Iterator[FakeDynamics]:
    """A fake Business Central on loopback holding populate's sample data."""
    with FakeDynamics() as fake:
        dynamics.populate(fake)
        yield fake


async def bc_tenant(
    sync_deps: SyncDeps,
    owner_pool: asyncpg.Pool,
    make_tenant: Any,
    fake: FakeDynamics,
    secret: str = "app-secret",  # noqa: S107
) -> tuple[Any, uuid.UUID]:
    """An empty tenant (bare_tenant) and a Business Central connector for ``fake``; returns (the tenant, the
    connector's id)."""
    tenant = await bare_tenant(owner_pool, make_tenant)
    connector = await configure(
        sync_deps,
        tenant,
        kind="dynamics",
        base_url=fake.url + "/api/v2.0/",
        options={"token_url": fake.token_url, "company_id": fake.company_id},
        credentials={"client_id": "app-id", "client_secret": secret},
        mapping=DYNAMICS_MAPPING,
    )
    return tenant, connector


async def synced_bc_tenant(
    sync_deps: SyncDeps, owner_pool: asyncpg.Pool, make_tenant: Any, fake: FakeDynamics
) -> tuple[Any, uuid.UUID]:
    """bc_tenant's tenant and connector after a first sync; returns (the tenant, the connector's id)."""
    tenant, connector = await bc_tenant(sync_deps, owner_pool, make_tenant, fake)
    await run_sync(sync_deps, tenant.id, connector)
    return tenant, connector


async def dead_letters(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID, entity: str) -> list[tuple[str, str]]:
    """The tenant's dead-lettered records of ``entity``: (external id, error), by external id."""
    rows = await owner_pool.fetch(
        "SELECT external_id, error FROM app.integration_dead_letters WHERE tenant_id = $1 AND entity = $2 "
        "ORDER BY external_id",
        tenant_id,
        entity,
    )
    return [(r["external_id"], r["error"]) for r in rows]


async def draft_order(
    sync_deps: SyncDeps,
    tenant: Any,
    supplier: str,
    warehouse: str,
    lines: list[tuple[str, Any, str | None, str]],
    currency: str = "EUR",
    **header: Any,
) -> dict:
    """A draft purchase order made in Chainsight from synced records: the supplier and warehouse by code,
    each line as (SKU, quantity, unit or None for the product's own, unit price)."""

    async def create(tx: TenantTransaction) -> dict:
        async def id_of(table: str, column: str, value: str) -> uuid.UUID:
            found: uuid.UUID = await tx.conn.fetchval(f"SELECT id FROM app.{table} WHERE {column} = $1", value)
            return found

        items = []
        for sku, quantity, uom, price in lines:
            item = {"product_id": await id_of("products", "sku", sku), "quantity": quantity, "unit_price": price}
            items.append(item if uom is None else {**item, "uom": uom})
        body = PurchaseOrderCreate.model_validate(
            {
                "supplier_id": await id_of("suppliers", "code", supplier),
                "warehouse_id": await id_of("warehouses", "code", warehouse),
                "currency": currency,
                "lines": items,
                **header,
            }
        )
        return await purchasing.create_order(tx.conn, tx.tenant_id, tx.user_id, body, default_tolerance_pct=Decimal(0))

    order: dict = await sync_deps.database.run(tenant.claims(), None, create)
    return order


async def push_draft(
    sync_deps: SyncDeps, tenant: Any, connector: uuid.UUID, *order: Any, **header: Any
) -> tuple[dict, dict]:
    """A draft order made with ``draft_order(sync_deps, tenant, *order, **header)``, pushed through the
    connector; returns (the order, the push's answer)."""
    made = await draft_order(sync_deps, tenant, *order, **header)
    pushed: dict = await push_purchase_order(sync_deps, tenant.claims(), None, connector, made["id"])
    return made, pushed


def dozens_and_grams(each_sku: str, kg_sku: str) -> list[tuple[str, Any, str | None, str]]:
    """Order lines in units the ERP must convert: 2 dozen of an each-item at 12 (24 at 1), 500 g of a kg-item
    at 0.004 (0.5 kg at 4)."""
    return [(each_sku, 2, "dozen", "12"), (kg_sku, "500", "g", "0.004")]


async def sync_after_lost_push(
    sync_deps: SyncDeps, owner_pool: asyncpg.Pool, tenant: Any, connector: uuid.UUID, order: dict
) -> tuple[dict, str | None]:
    """Push ``order`` to an ERP fake set to lose the answer, then sync before pushing again; returns (the sync
    run, the ERP id the order is linked to afterwards or None)."""
    with pytest.raises(Exception, match="connection"):
        await push_purchase_order(sync_deps, tenant.claims(), None, connector, order["id"])
    run = await run_sync(sync_deps, tenant.id, connector)
    linked: str | None = await owner_pool.fetchval(
        "SELECT external_id FROM app.integration_external_ids WHERE connector_id = $1 AND local_id = $2",
        connector,
        order["id"],
    )
    return run, linked


async def lapse_push_claim(owner_pool: asyncpg.Pool, order: dict) -> None:
    """Age the claim a push left on ``order`` (its outcome unknown: the ERP may have made the order) past any
    deadline plus a minute, as if that long had passed."""
    await owner_pool.execute(
        """UPDATE app.integration_push_claims SET claimed_at = now() - interval '181 seconds'
           WHERE purchase_order_id = $1""",
        order["id"],
    )


async def order_numbers(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID) -> list[str]:
    """The tenant's purchase order numbers, sorted."""
    async with owner_pool.acquire() as conn:
        rows = await conn.fetch("SELECT number FROM app.purchase_orders WHERE tenant_id = $1", tenant_id)
    return sorted(r["number"] for r in rows)


async def snapshot(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Everything a sync writes for a tenant, in a comparable form (no generated ids or timestamps)."""
    async with owner_pool.acquire() as conn:
        products = await conn.fetch(
            "SELECT sku, name, unit_of_measure, unit_cost, unit_cost_currency, active FROM app.products "
            "WHERE tenant_id = $1 ORDER BY sku",
            tenant_id,
        )
        suppliers = await conn.fetch(
            "SELECT code, name, country, email, active, currency FROM app.suppliers WHERE tenant_id = $1 ORDER BY code",
            tenant_id,
        )
        warehouses = await conn.fetch(
            "SELECT code, name FROM app.warehouses WHERE tenant_id = $1 ORDER BY code", tenant_id
        )
        levels = await conn.fetch(
            """SELECT p.sku, w.code, l.on_hand FROM app.stock_levels l
               JOIN app.products p ON p.id = l.product_id JOIN app.warehouses w ON w.id = l.warehouse_id
               WHERE l.tenant_id = $1 ORDER BY 1, 2""",
            tenant_id,
        )
        orders = await conn.fetch(
            """SELECT po.number, s.code AS supplier, w.code AS warehouse, po.currency, po.status, po.expected_date,
                      (SELECT json_agg(json_build_array(l.line_no, p.sku, l.quantity, l.uom, l.unit_price,
                                                        l.received_base) ORDER BY l.line_no)
                       FROM app.purchase_order_lines l JOIN app.products p ON p.id = l.product_id
                       WHERE l.purchase_order_id = po.id)::text AS lines
               FROM app.purchase_orders po JOIN app.suppliers s ON s.id = po.supplier_id
               JOIN app.warehouses w ON w.id = po.warehouse_id
               WHERE po.tenant_id = $1 ORDER BY po.number""",
            tenant_id,
        )
        ledger = await conn.fetchval("SELECT count(*) FROM app.stock_movements WHERE tenant_id = $1", tenant_id)
        maps = await conn.fetchval("SELECT count(*) FROM app.integration_external_ids WHERE tenant_id = $1", tenant_id)
        dead = await conn.fetch(
            """SELECT entity, external_id FROM app.integration_dead_letters
               WHERE tenant_id = $1 AND resolved_at IS NULL ORDER BY 1, 2""",
            tenant_id,
        )
    return {
        "products": [tuple(r) for r in products],
        "suppliers": [tuple(r) for r in suppliers],
        "warehouses": [tuple(r) for r in warehouses],
        "levels": [tuple(r) for r in levels],
        "orders": [tuple(r) for r in orders],
        "ledger": ledger,
        "maps": maps,
        "dead_letters": [tuple(r) for r in dead],
    }


async def completed_run(sync_deps: SyncDeps, tenant: Any, connector: uuid.UUID) -> dict:
    """Runs a sync of the connector that must complete, with the dead letters every fake's sample data
    provokes; returns the run."""
    run: dict = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "completed_with_errors", run
    return run


async def failed_run(sync_deps: SyncDeps, tenant: Any, connector: uuid.UUID) -> str:
    """Runs a sync of the connector that must fail; returns the run's error."""
    run = await run_sync(sync_deps, tenant.id, connector)
    assert run["status"] == "failed", run
    error: str = run["error"]
    return error


async def pull_across_token_expiry(fake: FakeServer, connector: Connector, first: Entity, second: Entity) -> None:
    """Pulls ``first``, has the fake revoke every token it issued, pulls ``second``; each pull must yield pages.
    Closes the connector."""
    try:
        assert [page async for page in connector.pull(first, None)]
        fake.expire_tokens()
        assert [page async for page in connector.pull(second, None)]
    finally:
        await connector.aclose()


async def bare_tenant(owner_pool: asyncpg.Pool, make_tenant: Any) -> Any:
    """A tenant from make_tenant with its sample products and warehouses removed (an empty company)."""
    tenant = await make_tenant()
    async with owner_pool.acquire() as conn:
        await conn.execute("DELETE FROM app.products WHERE tenant_id = $1", tenant.id)
        await conn.execute("DELETE FROM app.warehouses WHERE tenant_id = $1", tenant.id)
    return tenant


SENTINEL = "test.sentinel"


@asynccontextmanager
async def tap(owner_pool: asyncpg.Pool, tenant_id: uuid.UUID) -> AsyncIterator[list[dict[str, Any]]]:
    """The tenant's events published while the block runs, in commit order (read up to a sentinel event
    committed after the block, so nothing delivered late is missed)."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    seen: list[dict[str, Any]] = []

    def collect(*args: object) -> None:
        message = json.loads(str(args[3]))
        if message["tenant_id"] == str(tenant_id):
            queue.put_nowait(message)

    async with owner_pool.acquire() as listener:
        await listener.add_listener(events.CHANNEL, collect)
        try:
            yield seen
            async with owner_pool.acquire() as conn:
                await events.publish(conn, tenant_id, SENTINEL, {})
            while (message := await asyncio.wait_for(queue.get(), timeout=10))["type"] != SENTINEL:
                seen.append(message)
        finally:
            await listener.remove_listener(events.CHANNEL, collect)
