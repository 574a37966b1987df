"""The application answers through Serve's HTTP proxy."""


async def test_health_probe_answers_through_serve(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
