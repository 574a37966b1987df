"""Reservations: hold, release and fulfil stock."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from common.database import TenantTransaction
from deployments.api.deps import CallerDep
from deployments.api.idempotent import IdempotentDep
from deployments.api.list_route import add_list_route
from inventory import reservations
from inventory.schemas import Reservation, ReservationCreate

router = APIRouter(prefix="/reservations", tags=["reservations"])


@router.post("", status_code=201, response_model=Reservation, summary="Reserve available stock")
async def create_reservation(reservation: Annotated[ReservationCreate, Body()], write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> Reservation:
        row = await reservations.create_reservation(tx.conn, tx.tenant_id, tx.user_id, reservation)
        return Reservation.model_validate(row)

    return await write.run(reservation, op, status_code=201)


add_list_route(router, "", reservations.RESERVATIONS, Reservation, reservations.list_reservations, "List reservations")


@router.get("/{reservation_id}", response_model=Reservation, summary="Get a reservation")
async def get_reservation(reservation_id: UUID, caller: CallerDep) -> Reservation:
    return Reservation.model_validate(
        await caller.run(lambda tx: reservations.get_reservation(tx.conn, reservation_id))
    )


@router.post("/{reservation_id}/release", response_model=Reservation, summary="Release the held stock")
async def release_reservation(reservation_id: UUID, write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> Reservation:
        return Reservation.model_validate(await reservations.release_reservation(tx.conn, reservation_id))

    return await write.run(None, op, status_code=200)


@router.post("/{reservation_id}/fulfil", response_model=Reservation, summary="Issue the held stock")
async def fulfil_reservation(reservation_id: UUID, write: IdempotentDep) -> JSONResponse:
    async def op(tx: TenantTransaction) -> Reservation:
        row = await reservations.fulfil_reservation(tx.conn, tx.tenant_id, tx.user_id, reservation_id)
        return Reservation.model_validate(row)

    return await write.run(None, op, status_code=200)
