"""Reorder rules and the purchase proposals computed from them."""

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from common.database import TenantTransaction
from deployments.api.deps import CallerDep, SettingsDep
from deployments.api.idempotent import IdempotentDep
from deployments.api.list_route import add_list_route
from inventory import members, reorder
from inventory.purchasing_schemas import (
    Currency,
    PurchaseOrder,
    ReorderOrdersCreated,
    ReorderProposal,
    ReorderProposals,
    ReorderRule,
    ReorderRuleCreate,
    ReorderRuleUpdate,
)
from inventory.schemas import StrictModel

router = APIRouter(tags=["reorder"])


class ReorderOrderRequest(StrictModel):
    currency: Currency | None = Field(
        default=None, description="What the drafts are in; default: each supplier's currency, else EUR"
    )
    product_id: UUID | None = None
    warehouse_id: UUID | None = None
    supplier_id: UUID | None = None


@router.post("/reorder-rules", status_code=201, response_model=ReorderRule, summary="Create a reorder rule")
async def create_rule(payload: Annotated[ReorderRuleCreate, Body()], caller: CallerDep) -> ReorderRule:
    return ReorderRule.model_validate(
        await caller.run(lambda tx: reorder.create_rule(tx.conn, tx.tenant_id, payload), write=True)
    )


add_list_route(router, "/reorder-rules", reorder.RULES, ReorderRule, reorder.list_rules, "List reorder rules")


@router.get("/reorder-rules/{rule_id}", response_model=ReorderRule, summary="Get a reorder rule")
async def get_rule(rule_id: UUID, caller: CallerDep) -> ReorderRule:
    return ReorderRule.model_validate(await caller.run(lambda tx: reorder.get_rule(tx.conn, rule_id)))


@router.patch("/reorder-rules/{rule_id}", response_model=ReorderRule, summary="Change a reorder rule")
async def update_rule(rule_id: UUID, changes: Annotated[ReorderRuleUpdate, Body()], caller: CallerDep) -> ReorderRule:
    return ReorderRule.model_validate(
        await caller.run(lambda tx: reorder.update_rule(tx.conn, rule_id, changes), write=True)
    )


@router.delete("/reorder-rules/{rule_id}", status_code=204, summary="Delete a reorder rule")
async def delete_rule(rule_id: UUID, caller: CallerDep) -> Response:
    await caller.run(lambda tx: reorder.delete_rule(tx.conn, rule_id), write=True)
    return Response(status_code=204)


@router.get("/reorder-proposals", response_model=ReorderProposals, summary="What the rules would order now")
async def get_proposals(
    caller: CallerDep,
    product_id: Annotated[UUID | None, Query()] = None,
    warehouse_id: Annotated[UUID | None, Query()] = None,
    supplier_id: Annotated[UUID | None, Query()] = None,
) -> ReorderProposals:
    """Projected = on hand + incoming (open purchase orders, drafts included) - reserved; a rule fires when
    projected < min and proposes max(min, max) - projected rounded up to the order multiple and, for a count unit,
    to whole items (the inventory policy's rule, inventory.order_rounding)."""
    # A misspelt filter (?supplier=) is refused by the route class (known_query), not dropped.
    filters = _filters(product_id, warehouse_id, supplier_id)

    async def propose(tx: TenantTransaction) -> list[dict]:
        # Expected dates count from the caller's date (their profile's time zone), as ordering them does.
        return await reorder.priced_proposals(tx.conn, filters, await members.today_for(tx.conn, tx.user_id))

    return ReorderProposals(proposals=[ReorderProposal.model_validate(p) for p in await caller.run(propose)])


@router.post(
    "/reorder-proposals/purchase-orders",
    status_code=201,
    response_model=ReorderOrdersCreated,
    summary="Create draft purchase orders from the current proposals (one per supplier and warehouse)",
)
async def order_proposals(
    payload: Annotated[ReorderOrderRequest, Body()], write: IdempotentDep, settings: SettingsDep
) -> JSONResponse:
    filters = _filters(payload.product_id, payload.warehouse_id, payload.supplier_id)
    tolerance = Decimal(str(settings.purchase_over_receipt_tolerance_pct))

    # A retry after a lost answer gets the drafts the first call made (the proposals then count them as on order).
    async def op(tx: TenantTransaction) -> ReorderOrdersCreated:
        orders = await reorder.order_proposals(
            tx.conn, tx.tenant_id, tx.user_id, filters, currency=payload.currency, default_tolerance_pct=tolerance
        )
        return ReorderOrdersCreated(purchase_orders=[PurchaseOrder.model_validate(o) for o in orders])

    return await write.run(payload, op, status_code=201)


def _filters(product_id: UUID | None, warehouse_id: UUID | None, supplier_id: UUID | None) -> dict[str, UUID]:
    given = {"product_id": product_id, "warehouse_id": warehouse_id, "supplier_id": supplier_id}
    return {name: value for name, value in given.items() if value is not None}
