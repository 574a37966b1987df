"""Products, suppliers and warehouses: the same five endpoints over each catalogue table."""

from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from common.database import TenantTransaction
from deployments.api.deps import CallerDep
from deployments.api.list_route import add_list_route
from inventory import catalog
from inventory.catalog import CatalogEntity
from inventory.catalog_schemas import (
    Product,
    ProductCreate,
    ProductUpdate,
    Supplier,
    SupplierCreate,
    SupplierUpdate,
    Warehouse,
    WarehouseCreate,
    WarehouseUpdate,
)


def catalog_router(
    entity: CatalogEntity,
    path: str,
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    public_model: type[BaseModel],
) -> APIRouter:
    router = APIRouter(prefix=path, tags=[path.strip("/")])

    # FastAPI reads the body type from the annotation, so each router gets its own typed handlers.
    async def create(payload: create_model, caller: CallerDep) -> BaseModel:  # type: ignore[valid-type]
        async def op(tx: TenantTransaction) -> dict:
            return await catalog.create(tx.conn, entity, tx.tenant_id, payload)

        return public_model.model_validate(await caller.run(op, write=True))

    async def read(item_id: UUID, caller: CallerDep) -> BaseModel:
        async def op(tx: TenantTransaction) -> dict:
            return await catalog.get(tx.conn, entity, item_id)

        return public_model.model_validate(await caller.run(op))

    async def patch(item_id: UUID, changes: update_model, caller: CallerDep) -> BaseModel:  # type: ignore[valid-type]
        async def op(tx: TenantTransaction) -> dict:
            return await catalog.update(tx.conn, entity, item_id, changes)

        return public_model.model_validate(await caller.run(op, write=True))

    async def remove(item_id: UUID, caller: CallerDep) -> Response:
        async def op(tx: TenantTransaction) -> None:
            await catalog.delete(tx.conn, entity, item_id)

        await caller.run(op, write=True)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    label = entity.label
    router.add_api_route(
        "", create, methods=["POST"], status_code=201, response_model=public_model, summary=f"Create a {label}"
    )
    add_list_route(
        router,
        "",
        entity.listing,
        public_model,
        lambda conn, query: catalog.list_page(conn, entity, query),
        f"List {label}s",
    )
    router.add_api_route("/{item_id}", read, methods=["GET"], response_model=public_model, summary=f"Get a {label}")
    router.add_api_route(
        "/{item_id}", patch, methods=["PATCH"], response_model=public_model, summary=f"Update a {label}"
    )
    router.add_api_route("/{item_id}", remove, methods=["DELETE"], status_code=204, summary=f"Delete a {label}")
    return router


def catalog_routers() -> list[APIRouter]:
    return [
        catalog_router(catalog.PRODUCTS, "/products", ProductCreate, ProductUpdate, Product),
        catalog_router(catalog.SUPPLIERS, "/suppliers", SupplierCreate, SupplierUpdate, Supplier),
        catalog_router(catalog.WAREHOUSES, "/warehouses", WarehouseCreate, WarehouseUpdate, Warehouse),
    ]
