"""The API contract in OpenAPI matches what the routes do: list filters, item schemas, error answers.

In process (httpx's ASGI transport, real PostgreSQL, no Ray): nothing here needs Serve."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from deployments.report_previews import in_process_app
from inventory import catalog, members, notifications, purchasing, reorder, reservations, shipments, stock

LISTINGS = {
    "/api/v1/products": catalog.PRODUCTS.listing,
    "/api/v1/suppliers": catalog.SUPPLIERS.listing,
    "/api/v1/warehouses": catalog.WAREHOUSES.listing,
    "/api/v1/stock-levels": stock.LEVELS,
    "/api/v1/stock-movements": stock.MOVEMENTS,
    "/api/v1/reservations": reservations.RESERVATIONS,
    "/api/v1/purchase-orders": purchasing.ORDERS,
    "/api/v1/reorder-rules": reorder.RULES,
    "/api/v1/shipments": shipments.SHIPMENTS,
    "/api/v1/members": members.MEMBERS,
    "/api/v1/notifications": notifications.NOTIFICATIONS,
}


@pytest.fixture(scope="module")
async def api(settings, database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=in_process_app(settings, database))
    async with httpx.AsyncClient(transport=transport, base_url="http://lists", timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
async def openapi(api) -> dict:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("path", list(LISTINGS))
async def test_a_list_documents_exactly_the_filters_its_listing_accepts(openapi, path):
    listing = LISTINGS[path]
    documented = {p["name"] for p in openapi["paths"][path]["get"]["parameters"] if p["in"] == "query"}
    paging = {"limit", "cursor", "sort"} | ({"q"} if listing.search_columns else set())
    assert documented == paging | set(listing.filter_names)


@pytest.mark.parametrize("path", list(LISTINGS))
async def test_a_list_shows_its_item_schema(openapi, path):
    schema = openapi["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert "$ref" in page["properties"]["items"]["items"]


@pytest.mark.parametrize("path", [path for path, listing in LISTINGS.items() if listing.known_values])
async def test_a_list_documents_the_values_a_text_filter_can_match(openapi, path):
    listing = LISTINGS[path]
    schemas = {p["name"]: p["schema"] for p in openapi["paths"][path]["get"]["parameters"] if p["in"] == "query"}
    for name, known in listing.known_values.items():
        if known.values:
            assert schemas[name]["enum"] == list(known.values), name
        else:
            assert schemas[name]["pattern"] == f"^{known.pattern}$", name


async def test_the_purchase_order_statuses_are_documented_as_an_enum(openapi):
    parameters = openapi["paths"]["/api/v1/purchase-orders"]["get"]["parameters"]
    status = next(p for p in parameters if p["name"] == "status")
    assert status["schema"]["enum"] == ["draft", "issued", "partially_received", "received", "cancelled"]


async def test_a_documented_filter_narrows_the_page(api, make_tenant):
    tenant = await make_tenant(stock={0: Decimal(3), 1: Decimal(5)})
    response = await api.get(
        "/api/v1/stock-levels", params={"product_id": str(tenant.products[1])}, headers=tenant.headers()
    )
    assert response.status_code == 200, response.text
    assert [(i["product_id"], i["on_hand"]) for i in response.json()["items"]] == [(str(tenant.products[1]), 5.0)]


async def test_an_unknown_filter_is_a_400_that_names_the_allowed_ones(api, make_tenant):
    tenant = await make_tenant()
    response = await api.get("/api/v1/reorder-rules", params={"colour": "red"}, headers=tenant.headers())
    assert response.status_code == 400
    assert "'colour'" in response.json()["message"] and "supplier_id" in response.json()["message"]


async def test_a_viewer_cannot_list_members_through_the_shared_route(api, make_tenant):
    tenant = await make_tenant()
    response = await api.get("/api/v1/members", headers=tenant.headers(tenant.viewer))
    assert response.status_code == 403


async def test_every_api_operation_documents_the_error_answers(openapi):
    """With the ErrorBody schema, except where a route documents its own shape (the OpenAI-compatible routes)."""
    expected = {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"}
    for path, operations in openapi["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert expected <= documented, f"{method.upper()} {path} documents {sorted(documented)}"
            if "/ai/llm" not in path:
                assert "ErrorBody" in str(operation["responses"]["422"]), f"{method.upper()} {path}"


async def test_a_validation_error_has_the_documented_body(api, make_tenant):
    from deployments.api.errors import ErrorBody

    tenant = await make_tenant()
    response = await api.get("/api/v1/stock-levels", params={"limit": 0}, headers=tenant.headers())
    assert response.status_code == 422
    assert ErrorBody.model_validate(response.json()).code == "validation_error"
