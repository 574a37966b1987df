"""SQL for the risk domain. Every function takes a connection already scoped to one tenant (row-level
security decides what it sees); none filters by tenant itself."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pandas as pd

from common.errors import NotFoundError
from risk.judging import WindowRows
from risk.model import DisruptionModel
from risk.pipeline import LABEL_RULE
from risk.promotion import Verdict, same_rows_verdict
from risk.records import from_row
from risk.scoring import DEFAULT_WEIGHTS, Audit, Certification, DeliveryStats, SupplierFacts, validate_weights
from risk.spend import spend_shares
from training import registry

HISTORY_DAYS = 730  # operational statistics look back two years
MODEL_NAME = "risk-disruption"  # in the model registry shared with forecasting (app.forecast_runs)


async def load_delivery_history(
    conn: asyncpg.Connection, since: date | None = None, *, at: datetime | None = None
) -> pd.DataFrame:
    """Imported and purchase-order deliveries in the ``risk.features`` convention (plus ids and category); with
    ``at``, each line's ``dock_today`` too: its receiving warehouse's date at that instant, NaT for an imported
    delivery (no warehouse) and where the warehouse has no zone."""
    rows = await conn.fetch(
        f"""
        SELECT h.id, h.source, h.supplier_id::text AS supplier_id, s.code AS supplier_code, h.product_id,
               h.category, h.shipment_mode,
               h.order_date, h.promised_date, h.delivered_date, h.quantity::float8 AS quantity,
               h.value::float8 AS value, h.quantity_received::float8 AS quantity_received,
               h.quantity_rejected::float8 AS quantity_rejected, c.overall::float8 AS country_risk,
               rp.distance_km::float8 AS distance_km, h.purchase_order_id, h.currency::text AS currency,
               {dock_today(at="$2", today="NULL")} AS dock_today
        FROM app.risk_delivery_history h
        JOIN app.suppliers s ON s.id = h.supplier_id
        LEFT JOIN app.country_risk c ON c.country = h.origin_country
        LEFT JOIN app.supplier_risk_profiles rp ON rp.supplier_id = h.supplier_id
        LEFT JOIN app.purchase_orders po ON h.source = 'purchase_order' AND po.id = h.purchase_order_id
        LEFT JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
        WHERE $1::date IS NULL OR h.order_date >= $1::date
        """,
        since,
        at,
    )
    frame = _frame(rows)
    if at is None or frame.empty:  # an empty frame has only ``_frame``'s columns
        return frame.drop(columns="dock_today", errors="ignore")
    return frame.assign(dock_today=pd.to_datetime(frame["dock_today"]))


def dock_today(*, at: str, today: str) -> str:
    """SQL for the date at the receiving warehouse ``w`` at the instant parameter ``at``; the date parameter
    ``today`` where either is not known (no instant given, no zone, an imported delivery without a warehouse)."""
    return f"coalesce(({at}::timestamptz AT TIME ZONE w.timezone)::date, {today}::date)"


async def open_order_lines(conn: asyncpg.Connection, today: date, at: datetime | None = None) -> pd.DataFrame:
    """Lines of issued or partially received orders with quantity still to come, as of ``today``; with ``at``
    (now, for a scan of the present), each line's ``dock_today`` is its receiving warehouse's date then, where
    the warehouse has a zone."""
    rows = await conn.fetch(
        f"""
        -- The purchase-order rows of the delivery history (its dates on the receiving warehouse's calendar, its
        -- shipment mode and value), narrowed to lines still to come.
        SELECT h.id AS line_id, h.purchase_order_id, po.number, s.code AS supplier_code,
               h.supplier_id::text AS supplier_id, h.product_id, p.sku, l.line_no, h.category, h.shipment_mode,
               h.order_date, h.promised_date, NULL::date AS delivered_date, h.quantity::float8 AS quantity,
               h.value::float8 AS value, h.currency::text AS currency,
               c.overall::float8 AS country_risk, rp.distance_km::float8 AS distance_km,
               po.expected_date AS order_expected_date,
               {dock_today(at="$2", today="$1")} AS dock_today
        FROM app.risk_delivery_history h
        JOIN app.purchase_order_lines l ON l.id = h.id
        JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
        JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
        JOIN app.suppliers s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
        JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
        LEFT JOIN app.supplier_risk_profiles rp ON rp.tenant_id = po.tenant_id AND rp.supplier_id = po.supplier_id
        LEFT JOIN app.country_risk c ON c.country = h.origin_country
        WHERE h.source = 'purchase_order' AND po.status IN ('issued', 'partially_received')
          AND l.received_base + l.cancelled_base < l.quantity_base
        ORDER BY po.expected_date, po.number, l.line_no
        """,
        today,
        at,
    )
    frame = _frame(rows)
    # An expected date past what pandas keeps (an ERP's 9999-12-31 for "none") is no promise to be late against.
    frame = frame[frame["promised_date"].notna()].reset_index(drop=True)
    frame["as_of"] = pd.Timestamp(today)
    return frame


def _frame(rows: list[asyncpg.Record]) -> pd.DataFrame:
    frame = pd.DataFrame([dict(r) for r in rows])
    if frame.empty:
        frame = pd.DataFrame(
            columns=["supplier_id", "order_date", "promised_date", "delivered_date", "quantity", "value",
                     "shipment_mode", "country_risk", "distance_km"]
        )  # fmt: skip
    for column in ("order_date", "promised_date", "delivered_date"):
        # A date past what pandas keeps (2262; ERPs write 9999-12-31 for "no date") is no date: NaT.
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
    for column in ("quantity", "value", "country_risk", "distance_km"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


async def get_supplier(conn: asyncpg.Connection, supplier_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT id, code, name, country, active FROM app.suppliers WHERE id = $1", supplier_id)
    if row is None:
        raise NotFoundError(f"supplier {supplier_id} does not exist", code="unknown_supplier")
    return row


async def supplier_facts(
    conn: asyncpg.Connection, today: date, supplier_id: UUID | None = None, at: datetime | None = None
) -> dict[UUID, tuple[asyncpg.Record, SupplierFacts]]:
    """Facts for one supplier or every active one, in a fixed number of queries; with ``at`` (now, for a score of
    the present), an open order line is overdue past its promised date on its receiving warehouse's calendar."""
    suppliers = await conn.fetch(
        """
        SELECT s.id, s.code, s.name, s.country, s.active, rp.credit_rating, rp.days_payable,
               rp.revenue_trend_pct::float8 AS revenue_trend_pct, rp.distance_km::float8 AS distance_km,
               rp.default_shipment_mode, rp.region, rp.categories, c.overall::float8 AS country_risk
        FROM app.suppliers s
        LEFT JOIN app.supplier_risk_profiles rp ON rp.tenant_id = s.tenant_id AND rp.supplier_id = s.id
        LEFT JOIN app.country_risk c ON c.country = s.country
        WHERE ($1::uuid IS NULL AND s.active) OR s.id = $1::uuid
        ORDER BY s.code
        """,
        supplier_id,
    )
    stats = {
        r["supplier_id"]: r
        for r in await conn.fetch(
            f"""
            SELECT supplier_id,
                   count(*) FILTER (WHERE delivered_date IS NOT NULL) AS deliveries,
                   count(*) FILTER (WHERE delivered_date <= promised_date) AS on_time,
                   count(*) FILTER (WHERE delivered_date IS NULL AND promised_date < dock_today) AS overdue,
                   avg(delivered_date - order_date)::float8 AS lead_mean,
                   stddev_samp(delivered_date - order_date)::float8 AS lead_std,
                   count(filled) FILTER (WHERE delivered_date IS NOT NULL) AS fill_lines,
                   avg(filled) FILTER (WHERE delivered_date IS NOT NULL)::float8 AS fill_mean,
                   count(rejected_share) FILTER (WHERE delivered_date IS NOT NULL) AS defect_lines,
                   avg(rejected_share) FILTER (WHERE delivered_date IS NOT NULL)::float8 AS defect_mean
            FROM (
                -- dock_today as open_order_lines dates it; an imported delivery (no order) counts from ``today``.
                -- Fill and defect are each line's ratio (lines' units differ: grams and pieces do not add up).
                SELECT h.*, {dock_today(at="$4", today="$3")} AS dock_today,
                       least(h.quantity_received / nullif(h.quantity, 0), 1) AS filled,
                       least(h.quantity_rejected / nullif(h.quantity_received, 0), 1) AS rejected_share
                FROM app.risk_delivery_history h
                LEFT JOIN app.purchase_orders po ON po.id = h.purchase_order_id
                LEFT JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
            ) history
            WHERE order_date >= $1 AND ($2::uuid IS NULL OR supplier_id = $2::uuid)
            GROUP BY supplier_id
            """,
            today - timedelta(days=HISTORY_DAYS),
            supplier_id,
            today,
            at,
        )
    }
    spend = await spend_shares(conn, today)
    certifications: dict[UUID, list[Certification]] = {}
    for r in await conn.fetch("SELECT supplier_id, standard, expires_on FROM app.supplier_certifications"):
        certifications.setdefault(r["supplier_id"], []).append(from_row(Certification, r))
    audits: dict[UUID, list[Audit]] = {}
    for r in await conn.fetch(
        "SELECT supplier_id, audited_on, score::float8 AS score, outcome, next_due FROM app.supplier_audits"
    ):
        audits.setdefault(r["supplier_id"], []).append(from_row(Audit, r))

    found: dict[UUID, tuple[asyncpg.Record, SupplierFacts]] = {}
    for s in suppliers:
        facts = from_row(
            SupplierFacts,
            s,
            spend.get(s["id"]),
            shipment_mode=s["default_shipment_mode"],
            deliveries=from_row(DeliveryStats, stats.get(s["id"])),
            certifications=tuple(certifications.get(s["id"], ())),
            audits=tuple(audits.get(s["id"], ())),
        )
        found[s["id"]] = (s, facts)
    return found


async def get_weights(conn: asyncpg.Connection) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT financial::float8, operational::float8, geographical::float8, compliance::float8, updated_at, "
        "updated_by FROM app.risk_weights"
    )
    if row is None:
        return {"weights": dict(DEFAULT_WEIGHTS), "is_default": True, "updated_at": None, "updated_by": None}
    weights = {k: row[k] for k in DEFAULT_WEIGHTS}
    return {"weights": weights, "is_default": False, "updated_at": row["updated_at"], "updated_by": row["updated_by"]}


async def put_weights(
    conn: asyncpg.Connection, tenant_id: UUID, user_id: UUID, weights: dict[str, float]
) -> dict[str, Any]:
    checked = validate_weights(weights)
    await conn.execute(
        """
        INSERT INTO app.risk_weights (tenant_id, financial, operational, geographical, compliance, updated_by)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (tenant_id) DO UPDATE SET financial = $2, operational = $3, geographical = $4,
            compliance = $5, updated_by = $6, updated_at = now()
        """,
        tenant_id,
        *(checked[k] for k in DEFAULT_WEIGHTS),
        user_id,
    )
    return await get_weights(conn)


@dataclass(frozen=True)
class StoredModel:
    run_id: UUID
    version: int
    metrics: dict[str, Any]
    trained_at: Any


async def save_model(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    artifact: bytes,
    metrics: dict[str, Any],
    *,
    run_key: str,
    training_start: Any = None,
    training_end: Any = None,
    windows: WindowRows | None = None,
) -> dict[str, Any]:
    """Register a run in the shared model registry, store its bytes, and promote it if it beats the champion.

    With its decision windows' lines (``windows``), a run on fresher data is judged against the champion on the
    same lines, out of sample for both (``risk.promotion.same_rows_verdict``). Otherwise, and on the same data,
    the promotion metric is ``rmse`` of the serving scorer's probabilities (the booster's, or the baseline's
    when the booster did not beat it) on each run's own windows (the square root of their Brier score): lower is
    better, as the registry expects. The same ``run_key`` (the training day) reuses its run, so a rerun replaces
    rather than adds.
    """
    run = await registry.start_run(
        conn,
        tenant_id,
        model_name=MODEL_NAME,
        model_type="xgboost-calibrated",
        run_key=run_key,
        freq="D",
        horizon=1,
        params={"calibration": metrics.get("calibration_method"), "scorer": metrics.get("scorer")},
        training_start=training_start,
        training_end=training_end,
        artifact_uri=None,
    )
    await conn.execute(
        "INSERT INTO app.risk_model_artifacts (tenant_id, run_id, artifact) VALUES ($1, $2, $3) "
        "ON CONFLICT (tenant_id, run_id) DO UPDATE SET artifact = EXCLUDED.artifact, created_at = now()",
        tenant_id,
        run.id,
        artifact,
    )
    holdout = metrics.get("holdout", {})
    held_out = holdout.get("served", {})  # the served scorer's figures (``risk.pipeline.train_disruption_model``)
    await registry.finish_run(
        conn,
        tenant_id,
        run.id,
        metrics={**metrics, "rmse": math.sqrt(held_out["brier"]) if "brier" in held_out else None},
        series_count=int(metrics.get("training_rows", 0)),
        artifact_uri=f"postgres:app.risk_model_artifacts/{run.id}",
    )

    async def compare(champion: registry.RunRecord) -> Verdict | None:
        if windows is None:
            return None
        held = DisruptionModel.from_bytes(await load_model_artifact(conn, champion.id))  # outdated() checked it
        return same_rows_verdict(windows, training_end, champion, held)

    decision = await registry.promote_if_better(
        conn, tenant_id, run.id, metric="rmse", outdated=lambda champion: _why_outdated(conn, champion), compare=compare
    )
    return {"run_id": run.id, "version": run.version, "promoted": decision.promoted, "reason": decision.reason}


async def _why_outdated(conn: asyncpg.Connection, champion: registry.RunRecord) -> str | None:
    """Why ``champion`` must give way to a retrained model whatever its score, if it must: it cannot be loaded any
    more (then nothing but the baseline would serve), or its holdout was labelled under an earlier rule, so its
    score on paper is not comparable with the candidate's."""
    artifact = await conn.fetchval("SELECT artifact FROM app.risk_model_artifacts WHERE run_id = $1", champion.id)
    if artifact is None:
        return "its stored model is missing"
    if not DisruptionModel.compatible(artifact):
        return "it was trained on an earlier feature set and cannot be served"
    if champion.metrics.get("labels") != LABEL_RULE:
        return "its outcomes were labelled under an earlier rule, so its holdout scores are not comparable"
    return None


async def current_model(conn: asyncpg.Connection, tenant_id: UUID) -> StoredModel | None:
    """The registry's champion for disruption models, if any."""
    run = await registry.champion(conn, tenant_id, MODEL_NAME)
    if run is None:
        return None
    return StoredModel(run.id, run.version, run.metrics, run.finished_at)


async def load_model_artifact(conn: asyncpg.Connection, run_id: UUID) -> bytes:
    artifact: bytes | None = await conn.fetchval(
        "SELECT artifact FROM app.risk_model_artifacts WHERE run_id = $1", run_id
    )
    if artifact is None:
        raise NotFoundError(f"no stored artifact for model run {run_id}", code="unknown_model")
    return artifact


async def price_history(conn: asyncpg.Connection, product_id: UUID | None = None) -> pd.DataFrame:
    rows = await conn.fetch(
        """
        SELECT h.supplier_id, h.product_id, p.sku, h.category, h.observed_on, h.unit_price::float8 AS unit_price,
               h.currency, h.source, h.purchase_order_line_id, h.observed_at
        FROM app.risk_price_history h
        LEFT JOIN app.products p ON p.id = h.product_id
        WHERE h.product_id IS NOT NULL AND ($1::uuid IS NULL OR h.product_id = $1::uuid)
        -- market.chronological's order: same-day prices as they were set, then a total order on the rest.
        ORDER BY h.product_id, h.observed_on, h.observed_at NULLS FIRST, h.purchase_order_line_id NULLS FIRST,
                 h.supplier_id, h.unit_price
        """,
        product_id,
    )
    return pd.DataFrame([dict(r) for r in rows])
