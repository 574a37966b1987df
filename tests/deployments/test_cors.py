"""CORS through Serve's proxy where the proxy takes part: the request id it sets is exposed to the page, and
server-sent events and the events WebSocket follow the same origin rules (headers and preflights: api/test_cors.py).

The session's application runs with ENVIRONMENT=test and no CORS_ALLOWED_ORIGINS, so the development
defaults apply (http://localhost:5173 and http://localhost:3000).
"""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from deployments.llm_server import LLM_MODEL_ID

FRONTEND = "http://localhost:5173"
OTHER = "https://evil.example"


async def test_a_response_to_an_allowed_origin_exposes_the_request_id_and_retry_after(http, make_tenant):
    tenant = await make_tenant()
    response = await http.get("/api/v1/stock-levels", headers={**tenant.headers(), "Origin": FRONTEND})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "retry-after"} <= exposed
    assert response.headers["x-request-id"]  # set by Serve's proxy: the frontend can now read it
    assert "origin" in response.headers["vary"].lower()


@pytest.mark.usefixtures("copilot_serve_url")
@pytest.mark.parametrize(("origin", "allowed"), [(FRONTEND, True), (OTHER, False)])
async def test_a_server_sent_event_stream_follows_the_same_origin_rules(http, make_tenant, origin, allowed):
    tenant = await make_tenant()
    body = {"model": LLM_MODEL_ID, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "stream": True}
    headers = {**tenant.headers(), "Origin": origin}
    async with http.stream("POST", "/api/v1/ai/llm/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    assert response.headers.get("access-control-allow-origin") == (origin if allowed else None)


async def test_the_events_websocket_accepts_an_allowed_origin(serve_url, make_tenant):
    tenant = await make_tenant()
    url = serve_url.replace("http://", "ws://") + "/api/v1/events"
    async with websockets.connect(url, origin=FRONTEND) as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"type": "auth", "token": tenant.token()}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "ready"


async def test_the_events_websocket_refuses_the_handshake_from_another_origin(serve_url, make_tenant):
    url = serve_url.replace("http://", "ws://") + "/api/v1/events"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url, origin=OTHER):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
