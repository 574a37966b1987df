"""A value outside a field's accepted set is refused naming the field and listing the values plainly (in process).

Until 2026-12-08 an unknown movement ``type`` was refused at ``body`` with pydantic's enum reprs ("Input tag
'recieve' found using 'type' does not match any of the expected tags: <MovementType.RECEIPT: 'receipt'>, ..."),
and the other choices as "Input should be 'a' or 'b'"."""

from __future__ import annotations

import re

# A Python object's repr: an enum member, a Decimal, a date or datetime, a UUID.
REPR = re.compile(r"<\w+(\.\w+)*: |Decimal\(|datetime\.|UUID\(")

MOVE = "/api/v1/stock-movements"
LONG_LIST = "[" + ", ".join(["1.25"] * 20) + "]"


async def refused(api, tenant, method: str, path: str, body: dict | None = None) -> dict:
    response = await api.request(method, path, json=body, headers=tenant.headers())
    assert (response.status_code, response.json()["code"]) == (422, "validation_error"), response.text
    payload = response.json()
    texts = [payload["message"], *(detail["message"] for detail in payload["details"])]
    assert not [text for text in texts if REPR.search(text)], payload
    return payload


async def test_an_unknown_movement_type_names_type_and_the_movement_types(api, make_tenant):
    tenant = await make_tenant()
    body = {"type": "recieve", "product_id": str(tenant.products[0]), "quantity": 1}
    payload = await refused(api, tenant, "POST", MOVE, body)
    assert payload["message"] == "body.type: 'recieve' is not one of receipt, issue, transfer, adjustment"
    assert [detail["location"] for detail in payload["details"]] == [["body", "type"]]


async def test_a_movement_type_that_is_no_string_is_shown_as_json(api, make_tenant):
    tenant = await make_tenant()
    for sent, shown in [(None, "null"), (["receipt"], '["receipt"]'), (5, "5")]:
        body = {"type": sent, "product_id": str(tenant.products[0]), "quantity": 1}
        payload = await refused(api, tenant, "POST", MOVE, body)
        assert payload["message"] == f"body.type: {shown} is not one of receipt, issue, transfer, adjustment"


async def test_a_movement_without_type_names_type_as_required(api, make_tenant):
    tenant = await make_tenant()
    payload = await refused(api, tenant, "POST", MOVE, {"product_id": str(tenant.products[0]), "quantity": 1})
    assert payload["message"] == "body.type: Field required"
    assert [detail["location"] for detail in payload["details"]] == [["body", "type"]]


async def test_enum_and_literal_fields_of_bodies_list_their_values_plainly(api, make_tenant):
    tenant = await make_tenant()
    shipment = {
        "direction": "sideways",
        "warehouse_id": str(tenant.warehouses[0]),
        "carrier": "DHL",
        "tracking_number": "T1",
    }
    order = {
        "supplier_id": str(tenant.products[0]),
        "warehouse_id": str(tenant.warehouses[0]),
        "incoterm": "XYZ",
        "lines": [{"product_id": str(tenant.products[0]), "quantity": 1, "unit_price": 1}],
    }
    for path, body, expected in [
        ("/api/v1/shipments", shipment, "body.direction: 'sideways' is not one of inbound, outbound"),
        (
            "/api/v1/purchase-orders",
            order,
            "body.incoterm: 'XYZ' is not one of EXW, FCA, CPT, CIP, DAP, DPU, DDP, FAS, FOB, CFR, CIF",
        ),
    ]:
        assert (await refused(api, tenant, "POST", path, body))["message"] == expected


async def test_literal_query_parameters_list_their_values_plainly(api, make_tenant):
    tenant = await make_tenant()
    for path, expected in [
        ("/api/v1/ai/forecast/runs?freq=M", "query.freq: 'M' is not one of D, W"),
        ("/api/v1/ai/risk/suppliers?band=extreme", "query.band: 'extreme' is not one of low, medium, high"),
    ]:
        assert (await refused(api, tenant, "GET", path))["message"] == expected


async def test_a_refused_number_is_shown_bare_and_a_long_value_cut_with_an_ellipsis(api, make_tenant):
    # Before, 1.5 (read as a Decimal) was shown as the string "1.5", and a value past 40 characters was cut unmarked.
    tenant = await make_tenant()
    product = str(tenant.products[0])
    for raw, shown in [
        ("1.5", "1.5"),
        ("2.50", "2.50"),
        ('[1.5, {"a": 2.50}]', '[1.5, {"a": 2.50}]'),
        ('"' + "x" * 50 + '"', "'" + "x" * 40 + "…'"),
        (LONG_LIST, LONG_LIST[:40] + "…"),
    ]:
        body = f'{{"type": {raw}, "product_id": "{product}", "quantity": 1}}'
        response = await api.post(
            MOVE, content=body.encode(), headers={**tenant.headers(), "content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert response.json()["message"] == f"body.type: {shown} is not one of receipt, issue, transfer, adjustment"
