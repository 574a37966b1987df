"""Risk operations over one tenant transaction: what the Serve deployment and the early-warning job call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import pandas as pd

from common.database import TenantTransaction
from risk import alerts, compliance, market_report, repository
from risk.features import build_features
from risk.model import DisruptionModel, IncompatibleModelError, baseline_explanations, baseline_probability
from risk.model_info import served_model_info
from risk.scoring import EXPIRY_WARNING_DAYS, assess


class ModelStore:
    """Current disruption model per tenant, loaded from the registry once per version."""

    def __init__(self) -> None:
        # Keyed by version and finish time: a rerun of the same day's run keeps its version, not its bytes.
        self._cache: dict[UUID, tuple[tuple[int, Any], DisruptionModel]] = {}
        # Tenants whose champion was trained on an earlier feature set (its version): the baseline serves.
        self.incompatible: dict[UUID, int] = {}

    async def current(self, tx: TenantTransaction) -> tuple[int, DisruptionModel] | None:
        stored = await repository.current_model(tx.conn, tx.tenant_id)
        if stored is None:
            return None
        key = (stored.version, stored.trained_at)
        cached = self._cache.get(tx.tenant_id)
        if cached is None or cached[0] != key:
            artifact = await repository.load_model_artifact(tx.conn, stored.run_id)
            try:
                cached = (key, DisruptionModel.from_bytes(artifact))
            except IncompatibleModelError:
                self.incompatible[tx.tenant_id] = stored.version
                return None
            self._cache[tx.tenant_id] = cached
        self.incompatible.pop(tx.tenant_id, None)
        return stored.version, cached[1]


def _supplier(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "code": row["code"], "name": row["name"], "country": row["country"]}


async def assess_supplier(
    tx: TenantTransaction, supplier_id: UUID, today: date, at: datetime | None = None
) -> dict[str, Any]:
    """The supplier's score as of ``today``; ``at`` (now) counts its overdue order lines on each receiving
    warehouse's calendar, as ``predict_open_lines`` dates lateness."""
    await repository.get_supplier(tx.conn, supplier_id)
    weights = (await repository.get_weights(tx.conn))["weights"]
    row, facts = (await repository.supplier_facts(tx.conn, today, supplier_id, at))[supplier_id]
    status = await compliance.compliance_status(tx.conn, supplier_id, today)
    return {
        "supplier": _supplier(row),
        "as_of": today,
        **assess(facts, weights, today),
        "compliance_status": status["status"],
    }


async def rank_suppliers(
    tx: TenantTransaction, today: date, *, limit: int | None, band: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """Active suppliers by score, highest first (the first ``limit``, or all with None); ``at`` as in
    ``assess_supplier``."""
    weights = (await repository.get_weights(tx.conn))["weights"]
    ranked = []
    for row, facts in (await repository.supplier_facts(tx.conn, today, at=at)).values():
        assessment = assess(facts, weights, today, top=3)
        if band is None or assessment["band"] == band:
            ranked.append({"supplier": _supplier(row), **assessment})
    ranked.sort(key=lambda item: (-item["overall"], item["supplier"]["code"]))
    return {"as_of": today, "weights": weights, "total": len(ranked), "suppliers": ranked[:limit]}


@dataclass(frozen=True)
class LinePrediction:
    line: dict[str, Any]
    probability: float
    expected_delay_days: float
    explanation: list[dict[str, Any]]
    days_overdue: int = 0  # past its promised date and not received: late already, whatever a scorer says


async def predict_open_lines(
    tx: TenantTransaction, store: ModelStore, today: date, at: datetime | None = None
) -> tuple[dict[str, Any], list[LinePrediction]]:
    """A late probability for every open purchase-order line, with the features that drove it; ``at`` (now) dates
    each line's lateness on its receiving warehouse's calendar."""
    lines = await repository.open_order_lines(tx.conn, today, at)
    current = await store.current(tx)
    if lines.empty:
        return served_model_info(current, store.incompatible.get(tx.tenant_id)), []
    history = await repository.load_delivery_history(tx.conn, today - timedelta(days=3 * 365))
    features = build_features(_with_older_open_lines(history, lines), lines.reset_index(drop=True))
    if current is not None:
        model = current[1]
        probability = model.predict(features)
        delay = model.expected_delay(probability, features)
        explanations = model.explain(features)
    else:
        # No model trained yet: the supplier's shrunk historical late rate (the baseline every model must beat).
        probability = baseline_probability(features)
        delay = probability * np.clip(
            features["supplier_mean_delay"].to_numpy() / np.maximum(probability, 0.02), 0.5, 90
        )
        explanations = baseline_explanations(features)
    # A line past its promised date is late (the training labels' rule too): certain, and at least that late.
    # Counted on the receiving warehouse's calendar (dock_today): the nightly job runs at 02:30 UTC, the evening
    # before in the Americas, where a line due that day is not yet late.
    overdue = (pd.to_datetime(lines["dock_today"]) - lines["promised_date"]).dt.days.clip(lower=0).to_numpy(dtype=int)
    probability = np.where(overdue > 0, 1.0, probability)
    delay = np.where(overdue > 0, np.maximum(delay, overdue), delay)
    predictions = [
        LinePrediction(record, float(p), float(d), [_overdue_reason(int(n)), *e] if n else e, int(n))
        for record, p, d, e, n in zip(lines.to_dict("records"), probability, delay, explanations, overdue, strict=True)
    ]
    return served_model_info(current, store.incompatible.get(tx.tenant_id)), predictions


def _overdue_reason(days: int) -> dict[str, Any]:
    return {"feature": "days_overdue", "label": "days past the promised date, not received", "value": days,
            "contribution": None, "direction": "raises"}  # fmt: skip


def _with_older_open_lines(history: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """The delivery history holds the open lines already (its purchase-order rows), each once, as training saw
    them; only those ordered before its window are added, so no overdue line counts twice."""
    known = set(history["id"]) if "id" in history else set()
    older = lines[~lines["line_id"].isin(known)].rename(columns={"line_id": "id"})
    return pd.concat([history, older], ignore_index=True) if len(older) else history


async def model_summary(tx: TenantTransaction, store: ModelStore) -> dict[str, Any]:
    """The disruption model as ``/purchase-orders`` uses it: which scorer scores the orders and why, the registry's
    version, its held-out metrics and when it was trained (an incompatible champion serves nothing)."""
    stored = await repository.current_model(tx.conn, tx.tenant_id)
    info = served_model_info(await store.current(tx), store.incompatible.get(tx.tenant_id))
    return {**info, "trained_at": stored.trained_at if stored and info["version"] is not None else None}


async def order_predictions(
    tx: TenantTransaction,
    store: ModelStore,
    today: date,
    *,
    min_probability: float,
    limit: int,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Open purchase orders by their most at-risk line, highest first; ``at`` (now) as in ``predict_open_lines``."""
    model, predictions = await predict_open_lines(tx, store, today, at)
    orders: dict[Any, dict[str, Any]] = {}
    for p in predictions:
        line = p.line
        order = orders.setdefault(
            line["purchase_order_id"],
            {
                "purchase_order_id": line["purchase_order_id"],
                "number": line["number"],
                "supplier_id": line["supplier_id"],
                "supplier_code": line["supplier_code"],
                # The order's own date, as the order screens show it; lateness counts from the promised date
                # (not before the day the supplier got the order).
                "expected_date": line["order_expected_date"],
                "scored_by": model["scorer"],
                "late_probability": 0.0,
                "expected_delay_days": 0.0,
                "lines": [],
            },
        )
        order["lines"].append(
            {
                "line_id": line["line_id"],
                "line_no": line["line_no"],
                "sku": line["sku"],
                "late_probability": round(p.probability, 4),
                "expected_delay_days": round(p.expected_delay_days, 2),
                "explanation": p.explanation,
            }
        )
        order["late_probability"] = max(order["late_probability"], round(p.probability, 4))
        order["expected_delay_days"] = max(order["expected_delay_days"], round(p.expected_delay_days, 2))
    ranked = sorted(
        (o for o in orders.values() if o["late_probability"] >= min_probability),
        key=lambda o: (-o["late_probability"], o["number"]),
    )
    return {"as_of": today, "model": model, "total": len(ranked), "orders": ranked[:limit]}


async def market_risk(
    tx: TenantTransaction, product_id: UUID | None, *, limit: int | None = None, cursor: str | None = None
) -> dict[str, Any]:
    """Price statistics per product and currency, shocks and the most volatile first, and flags on lines of draft
    or open orders priced unusually high against earlier prices in the line's currency. Prices in different
    currencies are never compared: a product bought in EUR and then in JPY is not a 15,000% price shock. Up to
    ``limit`` series (all without one) after ``cursor`` (a page's ``next_cursor``), with their lines' flags."""
    after = market_report.decode_cursor(cursor) if cursor is not None else None
    prices = await repository.price_history(tx.conn, product_id)
    open_lines: list[Any] = []  # asyncpg records: mappings of the columns
    if not prices.empty:
        open_lines = await tx.conn.fetch(
            """
            SELECT l.id, po.number, po.status, po.currency, l.product_id,
                   (l.unit_price / l.uom_factor)::float8 AS unit_price,
                   -- The receiving warehouse's date, as the price history dates the orders before it.
                   coalesce((po.issued_at AT TIME ZONE coalesce(w.timezone, 'UTC'))::date,
                            app.warehouse_today(w.timezone, (now() AT TIME ZONE 'UTC')::date)) AS ordered_on
            FROM app.purchase_order_lines l JOIN app.purchase_orders po ON po.id = l.purchase_order_id
            JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
            WHERE po.status IN ('draft', 'issued', 'partially_received')
              -- A line closed with nothing received (cancelled, its backorder closed) will buy nothing (0128).
              AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base)
            """
        )
    # Statistics over every series (pandas, seconds for tens of thousands of products): off the event loop, which
    # serves the replica's other requests meanwhile.
    return await asyncio.to_thread(market_report.market_page, prices, open_lines, limit=limit, after=after)


@dataclass(frozen=True)
class ScanThresholds:
    late_probability: alerts.Threshold = field(default_factory=lambda: alerts.Threshold(0.6, 0.45))
    supplier_score: alerts.Threshold = field(default_factory=lambda: alerts.Threshold(60.0, 50.0))
    # Urgency of an expiry: 1 when expired, 0 at the warning window's start.
    certification_urgency: alerts.Threshold = field(default_factory=lambda: alerts.Threshold(0.0, -0.01))
    # The certificate alerts' window only: the stored supplier scores are the app's, whose certifications driver
    # keeps its own EXPIRY_WARNING_DAYS (the copilot compares them with /ai/risk/suppliers' and with each other).
    expiry_window_days: int = EXPIRY_WARNING_DAYS


async def scan(
    tx: TenantTransaction,
    store: ModelStore,
    today: date,
    thresholds: ScanThresholds | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Score open orders, store the predictions, and raise alerts on crossings (the early-warning job); ``at``
    (now, for a scan of the present) dates lateness on each receiving warehouse's calendar."""
    limits = thresholds or ScanThresholds()
    model, predictions = await predict_open_lines(tx, store, today, at)
    await tx.conn.execute("DELETE FROM app.risk_predictions")
    if predictions:
        await tx.conn.executemany(
            "INSERT INTO app.risk_predictions (tenant_id, purchase_order_line_id, purchase_order_id, "
            "late_probability, expected_delay_days, model_version, contributions) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                (tx.tenant_id, p.line["line_id"], p.line["purchase_order_id"], p.probability,
                 p.expected_delay_days, model["version"], p.explanation)
                for p in predictions
            ],
        )  # fmt: skip
    raised: dict[str, int] = {"late_delivery": 0, "supplier_score": 0, "certification_expiry": 0}
    for p in predictions:
        line = p.line
        raised["late_delivery"] += await alerts.observe(
            tx.conn, tx.tenant_id, "late_delivery", line["line_id"], p.probability, limits.late_probability,
            title=f"{line['number']} line {line['line_no']} ({line['sku']}) "
                  + (f"is {p.days_overdue} days past its promised date and not received" if p.days_overdue else
                     f"is likely to arrive late ({p.probability:.0%}, about {p.expected_delay_days:.1f} days)"),
            data={"purchase_order_id": str(line["purchase_order_id"]), "number": line["number"],
                  "late_probability": round(p.probability, 4), "expected_delay_days": round(p.expected_delay_days, 2)},
        )  # fmt: skip
    # Every active supplier, however many: one left unobserved keeps its alert state (never cleared, so a later
    # crossing raises nothing) and its last value, which the copilot reads as the last scan's score.
    ranking = await rank_suppliers(tx, today, limit=None, at=at)
    for item in ranking["suppliers"]:
        supplier = item["supplier"]
        raised["supplier_score"] += await alerts.observe(
            tx.conn, tx.tenant_id, "supplier_score", supplier["id"], item["overall"], limits.supplier_score,
            title=f"Supplier {supplier['code']} risk score is {item['overall']:.2f} ({item['band']})",
            data={"supplier_id": str(supplier["id"]), "overall": item["overall"], "components": item["components"]},
        )  # fmt: skip
    # One it did not observe (deactivated) keeps no state either: its last value, months old, was read as the last
    # scan's score, and its alert, never cleared, stayed up once reactivated. (NOT IN a subquery: hashed, where
    # <> ALL of an array would compare each state with every supplier.)
    await tx.conn.execute(
        "DELETE FROM app.risk_alert_state WHERE kind = 'supplier_score' "
        "AND subject_id NOT IN (SELECT unnest($1::uuid[]))",
        [item["supplier"]["id"] for item in ranking["suppliers"]],
    )
    # Active suppliers only, as the score alerts and the compliance report: a retired supplier's lapse is no risk.
    certificates = await tx.conn.fetch(
        "SELECT c.id, c.standard, c.expires_on, s.code FROM app.supplier_certifications c "
        "JOIN app.suppliers s ON s.id = c.supplier_id WHERE s.active"
    )
    for c in certificates:
        days_left = (c["expires_on"] - today).days
        urgency = 1 - days_left / limits.expiry_window_days
        raised["certification_expiry"] += await alerts.observe(
            tx.conn, tx.tenant_id, "certification_expiry", c["id"], urgency, limits.certification_urgency,
            title=f"{c['code']}: {c['standard']} " + (f"expired on {c['expires_on']}" if days_left < 0
                                                      else f"expires in {days_left} days ({c['expires_on']})"),
            data={"certification_id": str(c["id"]), "expires_on": c["expires_on"].isoformat(), "days_left": days_left},
        )  # fmt: skip
    # One it did not observe (its supplier deactivated) keeps no state: it never cleared, so once reactivated the
    # certificate, still expiring, alerted no one. Cleared here, not by a trigger on suppliers (0158, dropped by 0160):
    # a deactivation then waited for this scan's locks on the states, or deadlocked with it.
    await tx.conn.execute(
        "DELETE FROM app.risk_alert_state WHERE kind = 'certification_expiry' "
        "AND subject_id NOT IN (SELECT unnest($1::uuid[]))",
        [c["id"] for c in certificates],
    )
    return {"as_of": today, "model": model, "lines_scored": len(predictions), "alerts_raised": raised}
