"""Risk alerts with hysteresis: one alert per upward crossing of a threshold, not one per scan.

A watched value (an order line's late probability, a supplier's score, days to a certificate's expiry
turned into urgency, a price change) raises an alert when it reaches ``threshold`` while its state is not
active; the state re-arms only when the value falls below ``clear_below`` (lower than the threshold, so a
value hovering at the threshold does not alert on every scan). Alerts become rows of ``app.notifications``
(the tenant's notification feed) and ``alert`` events on the real-time channel, both in the caller's
transaction: a rolled-back scan raises nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from inventory import events


@dataclass(frozen=True)
class Threshold:
    raise_at: float
    clear_below: float

    def __post_init__(self) -> None:
        if self.clear_below > self.raise_at:
            raise ValueError("clear_below must not exceed raise_at")


def next_state(active: bool, value: float, threshold: Threshold) -> tuple[bool, bool]:
    """(active afterwards, raise an alert now)."""
    if not active and value >= threshold.raise_at:
        return True, True
    if active and value < threshold.clear_below:
        return False, False
    return active, False


async def observe(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    kind: str,
    subject_id: UUID,
    value: float,
    threshold: Threshold,
    *,
    title: str,
    data: dict[str, Any],
) -> bool:
    """Record ``value`` for the subject; returns True when this observation raised an alert."""
    await conn.execute(
        "INSERT INTO app.risk_alert_state (tenant_id, kind, subject_id, active, last_value) "
        "VALUES ($1, $2, $3, false, $4) ON CONFLICT DO NOTHING",
        tenant_id,
        kind,
        subject_id,
        value,
    )
    active = await conn.fetchval(
        "SELECT active FROM app.risk_alert_state WHERE kind = $1 AND subject_id = $2 FOR UPDATE", kind, subject_id
    )
    now_active, fire = next_state(bool(active), value, threshold)
    await conn.execute(
        """
        UPDATE app.risk_alert_state
        SET active = $3, last_value = $4, updated_at = now(),
            raised_count = raised_count + $5::int,
            raised_at = CASE WHEN $5::int = 1 THEN now() ELSE raised_at END,
            cleared_at = CASE WHEN active AND NOT $3 THEN now() ELSE cleared_at END
        WHERE kind = $1 AND subject_id = $2
        """,
        kind,
        subject_id,
        now_active,
        value,
        int(fire),
    )
    if fire:
        payload = {"kind": f"risk.{kind}", "subject_id": str(subject_id), "value": value, **data}
        await conn.execute(
            "INSERT INTO app.notifications (tenant_id, kind, title, data) VALUES ($1, $2, $3, $4)",
            tenant_id,
            f"risk.{kind}",
            title[:300],
            _jsonable(payload),
        )
        await events.publish(conn, tenant_id, events.ALERT, _jsonable(payload))
    return fire


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, UUID) else v) for k, v in data.items()}
