"""The application answers through Serve's HTTP proxy, which gives every request an id."""


async def test_health_probe_answers_through_serve(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_request_id_from_the_client_is_echoed(http, make_tenant):
    tenant = await make_tenant()
    response = await http.get("/api/v1/me", headers={**tenant.headers(), "X-Request-Id": "trace-abc-123"})
    assert response.headers["x-request-id"] == "trace-abc-123"


async def test_a_request_id_is_generated_when_the_client_sends_none(http):
    response = await http.get("/healthz")
    assert response.headers.get("x-request-id")
