"""Stock levels and the movement ledger."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from common.database import TenantTransaction
from deployments.api.deps import CallerDep
from deployments.api.idempotent import IdempotentDep
from deployments.api.list_route import add_list_route
from inventory import stock
from inventory.schemas import MovementCreate, MovementResult, StockLevel, StockMovement

router = APIRouter(tags=["stock"])


add_list_route(router, "/stock-levels", stock.LEVELS, StockLevel, stock.list_levels, "List stock levels")


@router.get("/stock-levels/{product_id}/{warehouse_id}", response_model=StockLevel, summary="Stock of one product")
async def get_stock_level(product_id: UUID, warehouse_id: UUID, caller: CallerDep) -> StockLevel:
    return StockLevel.model_validate(await caller.run(lambda tx: stock.get_level(tx.conn, product_id, warehouse_id)))


@router.post(
    "/stock-movements",
    status_code=201,
    response_model=MovementResult,
    summary="Record a receipt, issue, transfer or adjustment",
)
async def create_stock_movement(
    movement: Annotated[MovementCreate, Body(discriminator="type")], write: IdempotentDep
) -> JSONResponse:
    async def op(tx: TenantTransaction) -> MovementResult:
        rows, levels = await stock.record_movement(tx.conn, tx.tenant_id, tx.user_id, movement)
        return MovementResult(
            movements=[StockMovement.model_validate(r) for r in rows],
            levels=[StockLevel.model_validate(level) for level in levels],
        )

    return await write.run(movement, op, status_code=201)


add_list_route(
    router,
    "/stock-movements",
    stock.MOVEMENTS,
    StockMovement,
    stock.list_movements,
    "List ledger entries (occurred_from / occurred_to take ISO 8601 times)",
)
