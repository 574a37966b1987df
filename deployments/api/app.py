"""The FastAPI application: /api/v1 routes, health probes and (outside production) /metrics.

``create_api`` builds the app without touching the network; its lifespan opens the database pool and
the token verifier when the server starts (in a Serve replica or under plain uvicorn alike).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from common.auth import TokenVerifier
from common.config import Environment, Settings
from common.database import Database, create_pool
from common.error_reporting import init_error_reporting
from common.metrics import HttpMetrics, MetricsMiddleware, RequestObserver
from common.migrate import load_migrations, missing_versions
from deployments.api.body_limit import install_body_limits
from deployments.api.cors import install_cors
from deployments.api.deps import ModelHandles, Services
from deployments.api.errors import DATABASE_UNAVAILABLE, ERROR_RESPONSES, error_body, install_error_handlers
from deployments.api.exact_numbers import ExactNumbersRoute, ExactNumbersRouter
from deployments.api.known_query import KnownQueryRoute
from deployments.api.routes import copilot, forecast, me, reservations, risk, stock
from deployments.api.routes import integrations as integrations_routes
from deployments.api.routes.catalog import catalog_routers
from deployments.api.routes.logistics import logistics_routers

API_PREFIX = "/api/v1"
# Below the readiness probe's timeoutSeconds (cluster/base/rayservice.yaml), so the probe gets an answer.
READINESS_TIMEOUT_S = 3.0


class V1Route(KnownQueryRoute, ExactNumbersRoute):
    """An /api/v1 route: JSON bodies read with exact numbers, and a GET refuses a query parameter it does not take."""


def create_api(
    settings: Settings,
    *,
    services: Services | None = None,
    request_observers: Sequence[RequestObserver] = (),
    model_handles: ModelHandles | None = None,
) -> FastAPI:
    """Build the app. Pass ``services`` to reuse collaborators; otherwise the lifespan creates them.

    ``request_observers`` receive every request's outcome besides this process's /metrics registry.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        init_error_reporting(settings)
        if services is not None:
            app.state.services = services
            yield
            return
        pool = await create_pool(settings)
        verifier = TokenVerifier(settings)
        app.state.services = Services(
            database=Database(pool, acquire_timeout_s=settings.database_acquire_timeout_s), verifier=verifier
        )
        try:
            yield
        finally:
            hub = getattr(app.state, "event_hub", None)  # started by the first /events WebSocket
            if hub is not None:
                await hub.close()
            await verifier.aclose()
            await pool.close()

    handles = model_handles or ModelHandles()
    app = FastAPI(
        title="Chainsight",
        version="0.1.0",
        description="Supply-chain intelligence: inventory, forecasting, risk and a copilot.",
        lifespan=lifespan,
    )
    app.state.model_handles = handles
    install_body_limits(app, settings, API_PREFIX)  # outside the routes: refused before authentication reads a byte
    install_error_handlers(app)
    app.state.settings = settings
    install_cors(app, settings)  # outside the body limit, so every response, errors included, gets CORS headers
    # Added last, so outermost: it counts the status the client was sent, whichever layer answered (the body
    # limit's 413 and upload 401/503, CORS preflights), not what the routes alone made of the request.
    app.state.http_metrics = metrics = HttpMetrics(observers=request_observers)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    v1 = ExactNumbersRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES, route_class=V1Route)
    for router in catalog_routers():
        v1.include_router(router)
    v1.include_router(stock.router)
    v1.include_router(reservations.router)
    v1.include_router(me.router)
    v1.include_router(forecast.router)
    v1.include_router(copilot.router)
    v1.include_router(risk.router)
    v1.include_router(integrations_routes.router)
    for router in logistics_routers():
        v1.include_router(router)
    app.include_router(v1)
    # OpenAI's protocol has no exact figures, and its free-form fields (tool parameters, response schemas) go on to
    # the engine, which cannot serialise a Decimal: chat completions read JSON numbers as floats.
    app.include_router(copilot.llm_router, prefix=API_PREFIX, responses=ERROR_RESPONSES)

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process serves requests")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    expected_migrations = [m.version for m in load_migrations()]

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database answers and its schema is current",
        responses={503: {"description": "database_unavailable, or migrations_pending with the missing versions"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        pool = request.app.state.services.database.pool
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_S), pool.acquire() as conn:
                missing = await missing_versions(conn, expected_migrations)
        except (*DATABASE_UNAVAILABLE, OSError, TimeoutError) as exc:
            # Connections to a server that went away are dead: drop them so the next probe connects afresh.
            await pool.expire_connections()
            reason = str(exc) or type(exc).__name__
            return JSONResponse(error_body("database_unavailable", reason), status_code=503, headers=_RETRY)
        if missing:
            message = f"the database lacks migrations {missing}; run `chainsight migrate`"
            return JSONResponse(error_body("migrations_pending", message, {"missing": missing}), 503, headers=_RETRY)
        return JSONResponse({"status": "ready", "schema_version": max(expected_migrations, default=0)})

    if settings.environment is not Environment.PRODUCTION:
        # Local runs and tests only. In production Prometheus reads these series from Ray's metrics port (every
        # replica reports them through RayRequestMetrics), and this process's counters are no caller's business.
        @app.get("/metrics", tags=["operations"], summary="Prometheus metrics of this process (not in production)")
        async def metrics_endpoint() -> Response:
            body, content_type = metrics.exposition()
            return Response(body, media_type=content_type)

    return app


_RETRY = {"Retry-After": "5"}
