"""CORS (in process): a browser frontend on an allowed origin may call the API, others may not.

The settings have ENVIRONMENT=test and no CORS_ALLOWED_ORIGINS, so the development defaults apply
(http://localhost:5173 and http://localhost:3000). Request ids and streams: tests/deployments/test_cors.py.
"""

from __future__ import annotations

FRONTEND = "http://localhost:5173"
OTHER = "https://evil.example"


def preflight_headers(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }


async def test_a_preflight_from_an_allowed_origin_allows_the_method_headers_and_credentials(http):
    response = await http.options("/api/v1/stock-movements", headers=preflight_headers(FRONTEND))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {h.strip() for h in allowed.split(",")}
    assert int(response.headers["access-control-max-age"]) > 0


async def test_a_preflight_from_another_origin_is_refused_without_an_allowed_origin(http):
    response = await http.options("/api/v1/stock-movements", headers=preflight_headers(OTHER))
    assert response.status_code == 400
    # Without Access-Control-Allow-Origin naming it, the browser never sends the actual request.
    assert "access-control-allow-origin" not in response.headers


async def test_an_error_response_to_an_allowed_origin_carries_cors_headers_so_the_page_can_read_it(http):
    response = await http.get("/api/v1/stock-levels", headers={"Origin": FRONTEND})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == FRONTEND


async def test_a_response_to_another_origin_carries_no_cors_headers(http, make_tenant):
    tenant = await make_tenant()
    response = await http.get("/api/v1/stock-levels", headers={**tenant.headers(), "Origin": OTHER})
    assert response.status_code == 200  # CORS is enforced by the browser, which then hides this response
    assert "access-control-allow-origin" not in response.headers
