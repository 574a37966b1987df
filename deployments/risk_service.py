"""The ``RiskService`` Serve deployment: supplier scoring, disruption predictions, compliance, market risk and
history import, next to the tenant's current model (loaded from the model registry once per version).

The ingress forwards the caller's verified claims; every query runs under them in one transaction, so
row-level security applies here exactly as in the ingress.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from ray import serve

from common.config import get_settings
from common.database import Database, TenantTransaction, create_pool
from inventory import members
from risk import compliance, service
from risk.history_import import ImportOptions, import_history

T = TypeVar("T")
Claims = Mapping[str, Any]


@serve.deployment(name="RiskService", max_ongoing_requests=32)
class RiskService:
    async def __init__(self) -> None:  # type: ignore[misc]  # Serve awaits it
        settings = get_settings()
        self._pool = await create_pool(settings)
        # A request, not a job: refused as busy (503) past the timeout, as in the ingress, rather than waiting on.
        self._database = Database(self._pool, acquire_timeout_s=settings.database_acquire_timeout_s)
        self._models = service.ModelStore()

    async def _run(
        self, claims: Claims, tenant: UUID | None, op: Callable[[TenantTransaction], Awaitable[T]], write: bool = False
    ) -> T:
        async def guarded(tx: TenantTransaction) -> T:
            if write:
                tx.require_write()
            return await op(tx)

        return await self._database.run(claims, tenant, guarded)

    async def _run_as_of(
        self, claims: Claims, tenant: UUID | None, op: Callable[[TenantTransaction, date], Awaitable[T]]
    ) -> T:
        """``op`` as of the caller's date (their profile's time zone): what is due or expired counts from it."""

        async def dated(tx: TenantTransaction) -> T:
            return await op(tx, await members.today_for(tx.conn, tx.user_id))

        return await self._run(claims, tenant, dated)

    async def assess_supplier(self, claims: Claims, tenant: UUID | None, supplier_id: UUID) -> dict[str, Any]:
        return await self._run_as_of(
            claims, tenant, lambda tx, today: service.assess_supplier(tx, supplier_id, today, datetime.now(UTC))
        )

    async def rank_suppliers(self, claims: Claims, tenant: UUID | None, limit: int, band: str | None) -> dict[str, Any]:
        return await self._run_as_of(
            claims,
            tenant,
            lambda tx, today: service.rank_suppliers(tx, today, limit=limit, band=band, at=datetime.now(UTC)),
        )

    async def order_predictions(
        self, claims: Claims, tenant: UUID | None, min_probability: float, limit: int
    ) -> dict[str, Any]:
        return await self._run_as_of(
            claims,
            tenant,
            lambda tx, today: service.order_predictions(
                tx, self._models, today, min_probability=min_probability, limit=limit, at=datetime.now(UTC)
            ),
        )

    async def current_model(self, claims: Claims, tenant: UUID | None) -> dict[str, Any]:
        return await self._run(claims, tenant, lambda tx: service.model_summary(tx, self._models))

    async def supplier_compliance(self, claims: Claims, tenant: UUID | None, supplier_id: UUID) -> dict[str, Any]:
        async def op(tx: TenantTransaction, today: date) -> dict[str, Any]:
            supplier = await service.repository.get_supplier(tx.conn, supplier_id)
            status = await compliance.compliance_status(tx.conn, supplier_id, today)
            return {"supplier": {"id": supplier["id"], "code": supplier["code"], "name": supplier["name"]}, **status}

        return await self._run_as_of(claims, tenant, op)

    async def compliance_report(self, claims: Claims, tenant: UUID | None, window_days: int) -> dict[str, Any]:
        return await self._run_as_of(
            claims, tenant, lambda tx, today: compliance.tenant_report(tx.conn, today, window_days)
        )

    async def market_risk(
        self, claims: Claims, tenant: UUID | None, product_id: UUID | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        return await self._run(
            claims, tenant, lambda tx: service.market_risk(tx, product_id, limit=limit, cursor=cursor)
        )

    async def import_history(
        self, claims: Claims, tenant: UUID | None, data: bytes, options: ImportOptions
    ) -> dict[str, Any]:
        return await self._run(claims, tenant, lambda tx: import_history(tx.conn, tx.tenant_id, data, options), True)

    async def check_health(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
