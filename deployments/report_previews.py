"""``python -m deployments.report_previews --out docs/reports`` (``make report-previews``): render the reports
from the demo data through the API's own routes and turn a page of each into a PNG for the README.

Everything runs in this process: an embedded PostgreSQL with the demo tenant, the FastAPI app, and the forecast
routes' model work through ``InProcessForecast`` (the ``ForecastService`` methods' ``training.planning`` calls,
behind the handle's ``.method.remote(...)`` shape) instead of a Ray Serve deployment. Needs ``pdftoppm``
(Debian: ``apt-get install poppler-utils``).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from common.auth import TokenVerifier
from common.config import Settings
from common.database import Database, create_pool
from common.dev_tokens import issue_hs256_token
from common.embedded_postgres import start_embedded_postgres
from common.migrate import apply_migrations
from deployments.api.app import create_api
from deployments.api.deps import ModelHandles, Services
from inventory.demo import DEMO_PLANNER_ID, demo_id, seed_demo
from risk.demo import seed_risk_demo

# A throwaway signing key: the in-process app trusts only the token minted in the same run.
PREVIEW_SECRET = secrets.token_hex(32)
# (file stem, request path and query, pages to keep as PNG)
PREVIEWS: list[tuple[str, str, dict[str, Any], list[int]]] = [
    ("stock-levels", "/api/v1/exports/stock-levels.pdf", {"warehouse_id": str(demo_id("warehouse:BER-01"))}, [1]),
    (
        "forecast",
        "/api/v1/exports/forecast.pdf",
        {
            "warehouse_id": str(demo_id("warehouse:BER-01")),
            "product_id": [
                str(demo_id(f"product:{sku}")) for sku in ("FST-M6-20", "FST-NUT-M6", "SPR-BRG-6204", "ELC-MCU-F4")
            ],
        },
        [1, 2],
    ),
    ("supplier-risk", "/api/v1/exports/supplier-risk.pdf", {}, [1, 2]),
]


class _Method:
    def __init__(self, function: Callable[..., Any]) -> None:
        self._function = function

    def remote(self, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        return asyncio.to_thread(self._function, *args, **kwargs)


class InProcessForecast:
    """What ``ForecastService`` runs for the forecast routes, called in this process (see its methods)."""

    def __init__(self) -> None:
        from training import planning  # the modelling stack, loaded only by whoever forecasts

        self.forecast = _Method(planning.forecast_demand)
        self.supply = _Method(planning.supply_report)
        self.inventory = _Method(lambda history, freq, options: planning.inventory_report(history, freq, **options))


def in_process_app(settings: Settings, database: Database) -> Any:
    services = Services(database=database, verifier=TokenVerifier(settings))
    app = create_api(settings, services=services, model_handles=ModelHandles(forecast=InProcessForecast()))
    app.state.services = services  # httpx's ASGI transport does not run the lifespan that would set it
    return app


async def render(out: Path, data_dir: Path) -> list[Path]:
    url = start_embedded_postgres(data_dir, cleanup="delete")
    await apply_migrations(url)
    conn = await asyncpg.connect(url)
    try:
        await seed_demo(conn)
        await seed_risk_demo(conn)
    finally:
        await conn.close()
    settings = Settings(environment="test", database_url=url, supabase_jwt_secret=PREVIEW_SECRET)
    pool = await create_pool(settings)
    written = []
    try:
        app = in_process_app(settings, Database(pool, acquire_timeout_s=settings.database_acquire_timeout_s))
        headers = {"Authorization": f"Bearer {issue_hs256_token(PREVIEW_SECRET, DEMO_PLANNER_ID)}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://previews", timeout=600) as http:
            for stem, path, params, pages in PREVIEWS:
                response = await http.get(path, params=params, headers=headers)
                response.raise_for_status()
                pdf = out / f"{stem}.pdf"
                pdf.write_bytes(response.content)
                for page in pages:
                    written.append(_png(pdf, page, out / f"{stem}-page{page}"))
                pdf.unlink()
    finally:
        await pool.close()
    return written


def _png(pdf: Path, page: int, stem: Path) -> Path:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise SystemExit("pdftoppm not found: apt-get install poppler-utils")
    subprocess.run(  # noqa: S603 (fixed arguments, our own files)
        [pdftoppm, "-png", "-r", "110", "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(stem)],
        check=True,
    )
    return stem.with_suffix(".png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("docs/reports"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chainsight-previews-") as scratch:
        for path in asyncio.run(render(args.out, Path(scratch) / "pg")):
            print(path)


if __name__ == "__main__":
    main()
