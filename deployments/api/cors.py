"""Cross-origin rules for browser frontends: one allowed-origins list for HTTP, SSE and the WebSocket.

HTTP and SSE go through Starlette's CORS middleware (preflights answered, headers added to allowed origins
only). Browsers do not apply CORS to WebSockets, so the /events handshake checks its Origin header here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI, WebSocket, WebSocketException, status
from starlette.middleware.cors import CORSMiddleware

from common.config import Settings

# Request headers a frontend sends beyond the CORS-safelisted ones.
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Tenant-Id"]
# Response headers a frontend may read: the request id to quote in support requests, when to retry after a
# 429/503, and the file name of exports.
EXPOSED_HEADERS = ["X-Request-Id", "Retry-After", "Content-Disposition"]
ALLOWED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Add the CORS middleware when any origin is allowed; call it after every other middleware so it is the
    outermost one and error responses (401, 413, 429 ...) carry the headers too."""
    origins = settings.cors_origins
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_credentials=settings.cors_allow_credentials,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=settings.cors_max_age_s,
    )


async def require_allowed_origin(websocket: WebSocket) -> None:
    """WebSocket dependency: refuse the handshake (403) when a browser connects from an origin that is neither
    allowed nor the API's own. Clients that send no Origin (servers, CLIs) are not browsers and pass."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return
    settings: Settings = websocket.app.state.settings
    try:
        same_origin = urlsplit(origin).netloc == websocket.headers.get("host")
    except ValueError:  # an origin no URL parser reads ("http://[::1") is not the API's own
        same_origin = False
    if not same_origin and origin not in settings.cors_origins:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, reason=f"origin {origin} is not allowed")
