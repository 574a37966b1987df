"""The early-warning job: (re)train each tenant's disruption model when due, score open orders, raise alerts.

Run on a schedule as a Ray job (``python -m deployments.jobs early-warning``; the nightly RayCronJob runs it) or by hand
(``chainsight risk scan``). For each tenant it acts as the tenant's first admin, through the same
row-level-security transactions as a request, so it can neither read nor write another tenant's rows.
Training reads the history in one transaction, fits outside any transaction (Ray Train), and stores the
model in another; scoring replaces the tenant's stored predictions. A rerun adds no duplicate rows and,
thanks to the alert state, no repeated alerts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pandas as pd

from common.config import get_settings
from common.database import Database, TenantTransaction, job_database
from common.errors import DomainError, InvalidInputError, describe
from inventory.schemas import plannable
from risk import repository
from risk.model import DisruptionModel
from risk.model_info import shown_metrics
from risk.pipeline import RIVAL_DOCK_TODAY, Fitter, ordered_within, train_judged
from risk.service import ModelStore, scan
from training.job_args import at_least, planned_day

logger = logging.getLogger(__name__)
RETRAIN_AFTER = timedelta(days=7)
TRAINING_HISTORY_DAYS = 3 * 365
NO_SHARED_STORAGE = (
    "training on a Ray cluster of several nodes needs --storage-path (or CHAINSIGHT_TRAIN_STORAGE): an object-store "
    "URI or a volume every pod mounts"
)


@dataclass(frozen=True)
class JobIdentity:
    tenant_id: UUID
    user_id: UUID

    @property
    def claims(self) -> dict[str, str]:
        return {"sub": str(self.user_id), "role": "authenticated", "aud": "authenticated"}


async def tenant_identities(owner: asyncpg.Connection, tenants: Sequence[UUID] | None = None) -> list[JobIdentity]:
    """One acting admin per tenant (the earliest), of every tenant or of ``tenants``, read as the owner role: the
    only query that is."""
    rows = await owner.fetch(
        "SELECT DISTINCT ON (tenant_id) tenant_id, user_id FROM app.members "
        "WHERE role = 'admin' AND ($1::uuid[] IS NULL OR tenant_id = ANY($1::uuid[])) "
        "ORDER BY tenant_id, created_at, user_id",
        None if tenants is None else list(tenants),
    )
    return [JobIdentity(r["tenant_id"], r["user_id"]) for r in rows]


async def training_history(conn: asyncpg.Connection, since: date, at: datetime | None) -> pd.DataFrame:
    """The delivery history since ``since``, each purchase-order line with its ``dock_today``: its receiving
    warehouse's date at the instant ``at``. NaT without ``at``, for an imported delivery (no warehouse) and where
    the warehouse has no zone: the training day settles those lines."""
    return await repository.load_delivery_history(conn, since, at=at)


async def train_tenant(
    database: Database,
    who: JobIdentity,
    fitter: Fitter,
    today: date,
    *,
    force: bool = False,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Train the tenant's disruption model when due (or ``force``), on outcomes settled ``today``; with ``at`` (now,
    for a run of the present) a purchase-order line settles on its receiving warehouse's date then."""

    async def due(tx: TenantTransaction) -> Any:
        current = await repository.current_model(tx.conn, tx.tenant_id)
        fresh = current is not None and current.trained_at > datetime.now(UTC) - RETRAIN_AFTER
        # A champion trained on an earlier feature set cannot score: retrain it whatever its age.
        if (
            fresh
            and not force
            and current is not None
            and DisruptionModel.compatible(await repository.load_model_artifact(tx.conn, current.run_id))
        ):
            return None
        # The champion's as-of day: the candidate refits its scorer on what was settled then, to be compared with it.
        rival = None if current is None else current.metrics.get("as_of")
        # From the start of the champion's window too, which the rival learns from (``train_judged`` cuts each).
        first_day = today if rival is None else min(today, date.fromisoformat(rival))
        history = await training_history(tx.conn, first_day - timedelta(days=TRAINING_HISTORY_DAYS), at)
        if current is not None and rival is not None:
            history = await with_champion_calendar(tx.conn, history, champion_instant(current))
        return history, rival

    found = await database.run(who.claims, who.tenant_id, due)
    if found is None:
        return {"trained": False, "reason": "current model is recent"}
    history, rival = found
    try:
        # Outcomes as settled today: a line past its promise and still open counts as late. At 02:30 UTC it is
        # still the day before in the Americas, where a line due that day is not late yet (its dock_today says so).
        rival_as_of = None if rival is None else pd.Timestamp(rival)
        model, windows = await asyncio.to_thread(
            train_judged,
            history,
            fitter=fitter,
            as_of=pd.Timestamp(today),
            rival_as_of=rival_as_of,
            history_days=TRAINING_HISTORY_DAYS,
        )
    except InvalidInputError as exc:
        return {"trained": False, "reason": exc.message}
    # The next candidate's rival settles each line on the calendar this run used (``with_champion_calendar``).
    model.metrics["as_of_instant"] = None if at is None else at.isoformat()
    learnt = ordered_within(history, pd.Timestamp(today), TRAINING_HISTORY_DAYS)["order_date"]

    async def save(tx: TenantTransaction) -> dict[str, Any]:
        return await repository.save_model(
            tx.conn,
            tx.tenant_id,
            model.to_bytes(),
            model.metrics,
            run_key=f"{today.isoformat()}{'-forced' if force else ''}",
            training_start=_utc(learnt.min()),
            training_end=_utc(learnt.max()),
            windows=windows,  # judged against the champion on the same lines, in this transaction
        )

    saved = await database.run(who.claims, who.tenant_id, save)
    # As /ai/risk/model shows them: the booster's figures on its own training rows are a fit, not an accuracy.
    return {"trained": True, **saved, "metrics": shown_metrics(model.metrics)}


def champion_instant(champion: repository.StoredModel) -> datetime | None:
    """The instant at which ``champion`` settled its lines (each on its warehouse's date then); None where it
    settled them all as of its as-of day (a run dated with ``--today``). A champion stored before the instant was
    recorded (2026-12-07): its finish, minutes after that instant, where that fell on its as-of day (UTC)."""
    if "as_of_instant" in champion.metrics:
        recorded = champion.metrics["as_of_instant"]
        return None if recorded is None else datetime.fromisoformat(recorded)
    finished = champion.trained_at
    on_its_day = finished is not None and finished.astimezone(UTC).date().isoformat() == champion.metrics["as_of"]
    return finished if on_its_day else None


async def with_champion_calendar(
    conn: asyncpg.Connection, history: pd.DataFrame, champion_at: datetime | None
) -> pd.DataFrame:
    """``history`` with each line's ``RIVAL_DOCK_TODAY``: its receiving warehouse's date at ``champion_at``, the
    day the champion settled it on (NaT where the champion's as-of day did: no instant, zone or warehouse). Without
    it the rival was cut on the UTC day and knew the lines due the evening before in the Americas."""
    docks = pd.Series(pd.NaT, index=history.index, dtype="datetime64[ns]")
    if champion_at is not None and not history.empty:
        at_champion = await repository.load_delivery_history(conn, history["order_date"].min().date(), at=champion_at)
        docks = pd.to_datetime(history["id"].map(dict(zip(at_champion["id"], at_champion["dock_today"], strict=True))))
    return history.assign(**{RIVAL_DOCK_TODAY: docks})


def _utc(value: Any) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).tz_localize(UTC).to_pydatetime()


async def run(
    database: Database,
    owner: asyncpg.Connection,
    fitter: Fitter | None,
    *,
    tenants: Sequence[UUID] | None = None,
    today: date | None = None,
    retrain: bool = False,
    training_skipped: str | None = None,
) -> list[dict[str, Any]]:
    """Train (when ``fitter`` is given and a model is due) and scan every tenant, or only ``tenants``. A tenant
    whose training or scan fails gets an ``error`` in its outcome and the job goes on with the next one.
    ``training_skipped``: why there is no ``fitter``, recorded in each tenant's outcome."""
    day = today or date.today()
    # Scored as of a day past 2262 every tenant failed on pandas' date range, each with its own traceback.
    try:
        plannable(day)
    except ValueError as exc:
        raise InvalidInputError(f"today {exc}", code="invalid_date") from exc
    store = ModelStore()
    results = []
    identities = await tenant_identities(owner, tenants)
    # A mistyped --tenant (or a tenant without an admin to act as) would otherwise scan nothing and report success.
    missing = sorted({str(t) for t in tenants or ()} - {str(who.tenant_id) for who in identities})
    if missing:
        raise InvalidInputError(f"no tenant with an admin: {', '.join(missing)}", code="unknown_tenant")
    for who in identities:
        outcome: dict[str, Any] = {"tenant_id": str(who.tenant_id)}
        if training_skipped is not None:
            outcome["training"] = {"trained": False, "skipped": True, "reason": training_skipped}

        async def scan_tenant(tx: TenantTransaction) -> dict[str, Any]:
            # A scan of the present dates lateness on each warehouse's calendar: at 02:30 UTC it is still the day
            # before in the Americas, where a line due that day is not late yet.
            return await scan(tx, store, day, at=None if today else datetime.now(UTC))

        try:
            if fitter is not None:
                # Trained on outcomes settled as the scan dates lateness: on each warehouse's calendar.
                at = None if today else datetime.now(UTC)
                outcome["training"] = await train_tenant(database, who, fitter, day, force=retrain, at=at)
            outcome["scan"] = await database.run(who.claims, who.tenant_id, scan_tenant)
        except Exception as exc:
            # One tenant's failure must not leave every later tenant unscored: it is logged with its traceback,
            # named in the outcome, and main() exits non-zero once the others are done. Each step is its own
            # transaction, so what failed left nothing half-written and a rerun does it again.
            logger.exception("tenant %s: early warning failed", who.tenant_id)
            outcome["error"] = describe(exc)
        results.append(outcome)
    return results


async def _main(args: argparse.Namespace) -> list[dict[str, Any]]:
    import ray

    from common.ray_connection import connect_ray, workers_share_driver_disk
    from risk.training import ray_fitter

    settings = get_settings()
    # RAY_ADDRESS joins a running cluster; otherwise a small local one, with room for the Train workers.
    connect_ray(num_cpus=args.workers + 1, settings=settings)
    driver = ray.get_runtime_context().get_node_id()
    training_skipped: str | None = None
    if not (args.no_train or args.storage_path or workers_share_driver_disk(ray.nodes(), driver)):
        if args.retrain:  # asked for by hand: say so rather than only score
            raise InvalidInputError(f"{NO_SHARED_STORAGE}; or --no-train to only score")
        # The nightly RayCronJob gives the storage only when the Secret has it: without it the night still
        # scores every open line and raises alerts with the current models, and only retraining waits.
        training_skipped = f"{NO_SHARED_STORAGE}: training skipped, scored with the current models"
        logger.warning("%s", training_skipped)
    async with job_database(settings) as database, database.connection() as owner:
        return await run(
            database,
            owner,
            None
            if args.no_train or training_skipped
            else ray_fitter(workers=args.workers, storage_path=args.storage_path),
            tenants=args.tenant,
            today=args.today,
            retrain=args.retrain,
            training_skipped=training_skipped,
        )


def execute(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(
        prog="python -m deployments.jobs early-warning", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--tenant", type=UUID, action="append", help="only these tenants (repeatable)")
    parser.add_argument("--today", type=planned_day, help="scan as of this date (YYYY-MM-DD, 1900 to 2199)")
    parser.add_argument("--retrain", action="store_true", help="train even if the current model is recent")
    parser.add_argument("--no-train", action="store_true", help="only score with the current models")
    # Refused here (one line, exit 2) before the settings are read or Ray starts (training.job_args).
    parser.add_argument("--workers", type=at_least(1), default=2, help="Ray Train workers")
    storage = os.environ.get("CHAINSIGHT_TRAIN_STORAGE") or None
    parser.add_argument("--storage-path", default=storage, help="Ray Train checkpoints: storage every node reaches")
    return asyncio.run(_main(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> None:
    try:
        outcomes = execute(argv)
    except DomainError as exc:  # a refused option, or the database busy past DATABASE_ACQUIRE_TIMEOUT_S
        raise SystemExit(f"early-warning: {exc.message}") from exc
    print(json.dumps(outcomes, default=str))
    failed = [o["tenant_id"] for o in outcomes if "error" in o]
    if failed:
        raise SystemExit(f"early warning failed for {len(failed)} of {len(outcomes)} tenants: {', '.join(failed)}")
