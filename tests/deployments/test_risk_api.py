"""/ai/risk through Serve: the RiskService deployment behind the ingress, tenant isolation on every endpoint,
and a precise 4xx for every malformed request."""

from __future__ import annotations

import base64
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest

pytestmark = [pytest.mark.serve]

BASE = "/api/v1/ai/risk"
TODAY = date.today()
# A market cursor whose volatility no float holds (float() of it overflows).
OVERFLOWING_CURSOR = base64.urlsafe_b64encode(f'[true,{"9" * 400},"a","EUR","x"]'.encode()).decode().rstrip("=")
# A history file every column of which reads: only the options sent with it can be wrong.
VALID_IMPORT = b"supplier,order_date,promised_date,quantity,value\nACME,2025-01-02,2025-02-01,10,20\n"


async def arrange(owner_pool, tenant) -> dict[str, uuid.UUID]:
    """Two suppliers with history (one always late), a certification, an open order."""
    async with owner_pool.acquire() as conn:
        late, punctual = [
            await conn.fetchval(
                "INSERT INTO app.suppliers (tenant_id, code, name, country) VALUES ($1, $2, $2, 'DE') RETURNING id",
                tenant.id,
                code,
            )
            for code in ("LATE", "PUNCTUAL")
        ]
        rows = []
        for supplier, delay in ((late, 7), (punctual, 0)):
            for i in range(25):
                ordered = TODAY - timedelta(days=200 - 5 * i)
                rows.append(
                    (
                        tenant.id,
                        supplier,
                        tenant.products[0],
                        ordered,
                        ordered + timedelta(days=10),
                        ordered + timedelta(days=10 + delay),
                        Decimal(10),
                        Decimal(20),
                        f"{supplier}-{i}",
                    )
                )
        await conn.executemany(
            "INSERT INTO app.supplier_deliveries (tenant_id, supplier_id, product_id, order_date, promised_date, "
            "delivered_date, quantity, value, import_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rows,
        )
        await conn.execute(
            "INSERT INTO app.supplier_certifications (tenant_id, supplier_id, standard, expires_on) "
            "VALUES ($1, $2, 'ISO 9001', $3)",
            tenant.id,
            late,
            TODAY + timedelta(days=10),
        )
        order = await conn.fetchval(
            "INSERT INTO app.purchase_orders (tenant_id, supplier_id, warehouse_id, currency, expected_date, status, "
            "issued_at) VALUES ($1, $2, $3, 'EUR', $4, 'issued', now()) RETURNING id",
            tenant.id,
            late,
            tenant.warehouses[0],
            TODAY + timedelta(days=5),
        )
        await conn.execute(
            "INSERT INTO app.purchase_order_lines (tenant_id, purchase_order_id, line_no, product_id, quantity, uom, "
            "uom_factor, quantity_base, unit_price) VALUES ($1, $2, 1, $3, 10, 'each', 1, 10, 2)",
            tenant.id,
            order,
            tenant.products[0],
        )
    return {"late": late, "punctual": punctual, "order": order}


@pytest.fixture(scope="module")
async def tenants(make_tenant, owner_pool):
    mine, theirs = await make_tenant(), await make_tenant()
    return mine, await arrange(owner_pool, mine), theirs, await arrange(owner_pool, theirs)


async def test_a_supplier_assessment_lists_components_and_top_factors(http, tenants):
    mine, ids, _, _ = tenants
    response = await http.get(f"{BASE}/suppliers/{ids['late']}", headers=mine.headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["components"]) == {"financial", "operational", "geographical", "compliance"}
    assert body["supplier"]["code"] == "LATE" and body["top_factors"]
    assert body["compliance_status"] == "expiring"


async def test_the_ranked_list_puts_the_late_supplier_first(http, tenants):
    mine, _, _, _ = tenants
    response = await http.get(f"{BASE}/suppliers", headers=mine.headers())
    assert response.status_code == 200, response.text
    assert [s["supplier"]["code"] for s in response.json()["suppliers"]] == ["LATE", "PUNCTUAL"]


async def test_open_orders_come_with_probabilities_and_explanations(http, tenants):
    mine, ids, _, _ = tenants
    response = await http.get(f"{BASE}/purchase-orders", headers=mine.headers())
    assert response.status_code == 200, response.text
    (order,) = response.json()["orders"]
    assert order["purchase_order_id"] == str(ids["order"])
    assert 0.5 < order["late_probability"] <= 1 and order["lines"][0]["explanation"]


async def test_compliance_market_and_model_endpoints_answer(http, tenants):
    mine, ids, _, _ = tenants
    for path in ("/compliance", f"/suppliers/{ids['late']}/compliance", "/market", "/model", "/weights"):
        response = await http.get(f"{BASE}{path}", headers=mine.headers())
        assert response.status_code == 200, (path, response.text)
    report = (await http.get(f"{BASE}/compliance", headers=mine.headers())).json()
    assert report["counts"]["expiring"] == 1
    model = (await http.get(f"{BASE}/model", headers=mine.headers())).json()
    assert model["scorer"] and model["reason"]  # which scorer scores the orders, and why


async def test_weights_round_trip_and_bad_weights_are_refused_without_change(http, make_tenant):
    tenant = await make_tenant()
    good = {"financial": 0.1, "operational": 0.5, "geographical": 0.2, "compliance": 0.2}
    response = await http.put(f"{BASE}/weights", json=good, headers=tenant.headers())
    assert response.status_code == 200 and response.json()["weights"] == good
    bad = {"financial": 0.5, "operational": 0.5, "geographical": 0.5, "compliance": 0.5}
    response = await http.put(f"{BASE}/weights", json=bad, headers=tenant.headers())
    assert response.status_code == 400 and response.json()["code"] == "invalid_weights"
    assert "sum to 1" in response.json()["message"]
    viewer = await http.put(f"{BASE}/weights", json=good, headers=tenant.headers(tenant.viewer))
    assert viewer.status_code == 403
    assert (await http.get(f"{BASE}/weights", headers=tenant.headers())).json()["weights"] == good


async def test_import_reports_rejected_rows_and_refuses_unreadable_files(http, make_tenant, owner_pool):
    tenant = await make_tenant()
    csv = (
        "supplier,order_date,promised_date,delivered_date,quantity,value\n"
        "ACME,2025-01-02,2025-02-01,2025-02-03,10,20\n"
        "ACME,2025-01-32,2025-02-01,,10,20\n"
    )
    files = {"file": ("history.csv", csv.encode(), "text/csv")}
    response = await http.post(
        f"{BASE}/history/import", files=files, data={"create_suppliers": "true"}, headers=tenant.headers()
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["rejected"]) == (1, 1)
    assert report["rejections"][0]["line"] == 3 and "not a date" in report["rejections"][0]["errors"][0]
    missing = {"file": ("h.csv", b"supplier,quantity\nACME,1\n", "text/csv")}
    response = await http.post(f"{BASE}/history/import", files=missing, headers=tenant.headers())
    assert response.status_code == 400 and response.json()["code"] == "missing_columns"
    viewer = await http.post(f"{BASE}/history/import", files=files, headers=tenant.headers(tenant.viewer))
    assert viewer.status_code == 403
    async with owner_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM app.supplier_deliveries WHERE tenant_id = $1", tenant.id) == 1


async def test_an_import_rejects_a_row_with_a_number_past_the_decimal_range(http, make_tenant):
    tenant = await make_tenant()
    csv = "supplier,order_date,promised_date,quantity,value\nACME,2025-01-02,2025-02-01,10,1e1000000\n"
    files = {"file": ("history.csv", csv.encode(), "text/csv")}
    response = await http.post(
        f"{BASE}/history/import", files=files, data={"create_suppliers": "true"}, headers=tenant.headers()
    )
    assert response.status_code == 200, response.text
    assert [r["errors"] for r in response.json()["rejections"]] == [["value 1e1000000 is too large"]]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("get", "/suppliers/not-a-uuid", {}, 422, "validation_error"),
        ("get", f"/suppliers/{uuid.uuid4()}", {}, 404, "unknown_supplier"),
        ("get", f"/suppliers/{uuid.uuid4()}/compliance", {}, 404, "unknown_supplier"),
        ("get", "/suppliers?limit=0", {}, 422, "validation_error"),
        ("get", "/suppliers?band=severe", {}, 422, "validation_error"),
        ("get", "/purchase-orders?min_probability=1.5", {}, 422, "validation_error"),
        ("get", "/compliance?window_days=0", {}, 422, "validation_error"),
        ("get", "/market?product_id=x", {}, 422, "validation_error"),
        pytest.param(
            "get", f"/market?cursor={OVERFLOWING_CURSOR}", {}, 400, "invalid_cursor", id="market-overflowing-cursor"
        ),
        ("put", "/weights", {"json": {"financial": 1}}, 422, "validation_error"),
        (
            "put",
            "/weights",
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "malformed_json",
        ),
        (
            "put",
            "/weights",
            {"json": {"financial": 1, "operational": 0, "geographical": 0, "compliance": 0, "esg": 0}},
            422,
            "validation_error",
        ),
        ("post", "/history/import", {}, 422, "validation_error"),
        (
            "post",
            "/history/import",
            {"files": {"file": ("a.csv", b"supplier\n", "text/csv")}, "data": {"date_format": "iso"}},
            400,
            "invalid_date_format",
        ),
        pytest.param(
            "post",
            "/history/import",
            {"files": {"file": ("a.csv", VALID_IMPORT, "text/csv")}, "data": {"date_format": "%Y-%m-%m"}},
            400,
            "invalid_date_format",
            id="import-repeated-date-directive",
        ),
        (
            "post",
            "/history/import",
            {"files": {"file": ("a.csv", b"supplier\n", "text/csv")}, "data": {"mapping": "supplier"}},
            400,
            "invalid_mapping",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_malformed_requests_get_a_precise_4xx(http, tenants, method, path, kwargs, status, code):
    mine, _, _, _ = tenants
    headers = {**mine.headers(), **kwargs.pop("headers", {})}
    response = await getattr(http, method)(f"{BASE}{path}", headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_every_risk_endpoint_is_isolated_between_tenants(http, tenants):
    mine, my_ids, theirs, their_ids = tenants
    # Their supplier is unknown to me.
    for path in (f"/suppliers/{their_ids['late']}", f"/suppliers/{their_ids['late']}/compliance"):
        assert (await http.get(f"{BASE}{path}", headers=mine.headers())).status_code == 404, path
    # Lists show only my rows.
    ranked = (await http.get(f"{BASE}/suppliers", headers=mine.headers())).json()["suppliers"]
    assert {s["supplier"]["id"] for s in ranked} == {str(my_ids["late"]), str(my_ids["punctual"])}
    orders = (await http.get(f"{BASE}/purchase-orders", headers=mine.headers())).json()["orders"]
    assert [o["purchase_order_id"] for o in orders] == [str(my_ids["order"])]
    report = (await http.get(f"{BASE}/compliance", headers=mine.headers())).json()
    assert {s["supplier_id"] for s in report["suppliers"]} == {str(my_ids["late"]), str(my_ids["punctual"])}
    market = (await http.get(f"{BASE}/market", headers=mine.headers())).json()
    assert {p["product_id"] for p in market["products"]} <= {str(p) for p in mine.products}
    # Weights written by one tenant are not the other's.
    weights = {"financial": 0.7, "operational": 0.1, "geographical": 0.1, "compliance": 0.1}
    assert (await http.put(f"{BASE}/weights", json=weights, headers=theirs.headers())).status_code == 200
    assert (await http.get(f"{BASE}/weights", headers=mine.headers())).json()["is_default"] is True
    # An import lands in the importer's tenant only.
    csv = b"supplier,order_date,promised_date,quantity,value\nLATE,2025-01-02,2025-02-01,10,20\n"
    response = await http.post(
        f"{BASE}/history/import", files={"file": ("h.csv", csv, "text/csv")}, headers=theirs.headers()
    )
    assert response.json()["inserted"] == 1
    after = (await http.get(f"{BASE}/suppliers/{my_ids['late']}", headers=mine.headers())).json()
    assert after["deliveries"] == 25
    # Asking for their tenant explicitly is refused.
    forged = await http.get(f"{BASE}/suppliers", headers={**mine.headers(), "X-Tenant-Id": str(theirs.id)})
    assert forged.status_code == 403
