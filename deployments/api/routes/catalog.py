"""Products, suppliers and warehouses: the same five endpoints over each catalogue table."""

from uuid import UUID

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from common.database import TenantTransaction
from deployments.api.deps import CallerDep
from deployments.api.listing_params import (
    CursorParam,
    LimitParam,
    PageOut,
    SearchParam,
    SortParam,
    list_query,
)
from inventory import catalog
from inventory.catalog import CatalogEntity
from inventory.listing import Page
from inventory.schemas import (
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
    filters = ", ".join([*entity.listing.equality_filters]) or "none"
    sortable = ", ".join(entity.listing.sortable)
    searched = ", ".join(entity.listing.search_columns)

    # FastAPI reads the body type from the annotation, so each router gets its own typed handlers.
    async def create(payload: create_model, caller: CallerDep) -> BaseModel:  # type: ignore[valid-type]
        async def op(tx: TenantTransaction) -> dict:
            return await catalog.create(tx.conn, entity, tx.tenant_id, payload)

        return public_model.model_validate(await caller.run(op, write=True))

    async def list_items(
        request: Request,
        caller: CallerDep,
        limit: LimitParam = 50,
        cursor: CursorParam = None,
        sort: SortParam = None,
        q: SearchParam = None,
    ) -> PageOut:
        query = list_query(entity.listing, request, limit, cursor, sort, q)

        async def op(tx: TenantTransaction) -> Page:
            return await catalog.list_page(tx.conn, entity, query)

        page = await caller.run(op)
        return PageOut(items=[public_model.model_validate(i) for i in page.items], next_cursor=page.next_cursor)

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
    router.add_api_route(
        "",
        list_items,
        methods=["GET"],
        summary=f"List {label}s",
        description=f"Filters: {filters}. Sortable by: {sortable}. `q` searches {searched}.",
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
