"""Every GET route of /api/v1 refuses a query parameter it does not take (in process).

FastAPI drops an undeclared query parameter: a misspelt filter (?warehose_id=) was answered unfiltered, and the
client took the answer for filtered. The OpenAI-compatible /ai/llm routes keep OpenAI's protocol and are left out.
"""

from __future__ import annotations

import re
import uuid

from fastapi.routing import APIRoute

from deployments.api.app import API_PREFIX, create_api

OPENAI_PROTOCOL = f"{API_PREFIX}/ai/llm/"
# Path values for the parameters that are not ids; every other path parameter gets a fresh UUID.
PATH_VALUES = {"name": "products.csv"}
# Routes whose query string depends on a path value: they check it themselves (an export takes its dataset's filters).
CHECKED_BY_ROUTE = {f"{API_PREFIX}/exports/{{name}}"}


def get_routes(api_settings) -> list[APIRoute]:
    app = create_api(api_settings)
    return [
        route
        for route in app.routes
        if isinstance(route, APIRoute)
        and "GET" in route.methods
        and route.path.startswith(API_PREFIX)
        and not route.path.startswith(OPENAI_PROTOCOL)
    ]


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PATH_VALUES.get(m.group(1), str(uuid.uuid4())), path)


async def test_every_get_route_refuses_a_query_parameter_it_does_not_take_naming_it_and_what_it_takes(
    http, api_settings, make_tenant
):
    tenant = await make_tenant()
    openapi = (await http.get("/openapi.json")).json()
    routes = get_routes(api_settings)
    assert len(routes) > 40  # the enumeration found the API's routes
    ignored = []
    for route in routes:
        answer = await http.get(concrete(route.path), params={"warehose_id": "x"}, headers=tenant.headers())
        is_json = answer.headers.get("content-type", "").startswith("application/json")
        body = answer.json() if is_json and isinstance(answer.json(), dict) else {}
        declared = {p["name"] for p in openapi["paths"][route.path]["get"].get("parameters", []) if p["in"] == "query"}
        details = body.get("details") if isinstance(body.get("details"), dict) else {}
        accepted = set(details.get("accepted", []))
        if (
            answer.status_code != 400
            or body.get("code") != "unknown_parameter"
            or "'warehose_id'" not in body.get("message", "")
            or details.get("unknown") != ["warehose_id"]
            or not (accepted == declared or (route.path in CHECKED_BY_ROUTE and declared <= accepted))
        ):
            ignored.append(f"{route.path}: {answer.status_code} {body or answer.text[:80]}")
    assert ignored == []


async def test_the_refusal_names_every_unknown_parameter_and_lists_the_accepted_ones(http, make_tenant):
    tenant = await make_tenant()
    answer = await http.get(
        "/api/v1/ai/forecast/runs", params={"limit": 5, "lmit": 5, "frequency": "W"}, headers=tenant.headers()
    )
    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "code": "unknown_parameter",
        "message": "unknown query parameters 'frequency', 'lmit'; accepted here: freq, limit",
        "details": {"unknown": ["frequency", "lmit"], "accepted": ["freq", "limit"]},
    }


async def test_a_route_answers_as_before_when_every_parameter_is_one_it_takes(http, make_tenant):
    tenant = await make_tenant()
    answer = await http.get("/api/v1/ai/forecast/runs", params={"freq": "W", "limit": 5}, headers=tenant.headers())
    assert (answer.status_code, answer.json()) == (200, []), answer.text


async def test_an_export_takes_its_data_sets_filters_and_refuses_paging_it_does_not_have(http, make_tenant):
    tenant = await make_tenant()
    filtered = await http.get("/api/v1/exports/products.csv", params={"category": "bolts"}, headers=tenant.headers())
    assert filtered.status_code == 200, filtered.text
    paged = await http.get("/api/v1/exports/products.csv", params={"limit": 10}, headers=tenant.headers())
    assert paged.status_code == 400, paged.text
    assert paged.json()["details"]["unknown"] == ["limit"]
