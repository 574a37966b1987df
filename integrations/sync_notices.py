"""What a sync run the job closes tells the tenant: its event always, a notification only when there is news.

A scheduled connector runs every few minutes, so a notification per run would repeat one condition all day (an Odoo
order its record rules hide, refused credentials: the same error, run after run, until someone acts). A failure is
therefore notified when it starts, and once more when a run goes through again; a run that fails as the one before
it failed (the same error, no run between them that went through) is recorded as failed and posts its
``integration.sync_failed`` event, but writes no notification. A different error is a new condition and is notified.
Errors are compared by ``app.integration_error_key`` (migrations 0163, 0166), the rule the runs the service
closes follow too: ids, timestamps and labelled request numbers masked, as an ERP's text may carry ones new on every
request; an order number stays.
Dead letters are announced once each, by the first run to close while they are open (new, or reopened after being
resolved), even one that then failed; one met again while open is not.
"""

from __future__ import annotations

from typing import Any

from common.database import TenantTransaction
from integrations import store
from inventory import events

SYNC_FINISHED = "integration.sync_finished"
SYNC_FAILED = "integration.sync_failed"


def announcement(run: dict, connector_name: str) -> dict[str, Any]:
    return {
        "connector_id": str(run["connector_id"]),
        "connector": connector_name,
        "run_id": str(run["id"]),
        "status": run["status"],
        "counts": run["counts"],
        "error": run["error"],
    }


def event_kind(run: dict) -> str:
    return SYNC_FAILED if run["status"] == "failed" else SYNC_FINISHED


async def announce(tx: TenantTransaction, connector: dict, run: dict) -> None:
    """Post the closed run's event and write its notification, if it has news (in the transaction that closed it)."""
    # app.close_integration_run (migration 0163) writes the failure notification for a run the service closes.
    data = announcement(run, connector["name"])
    await events.publish(tx.conn, tx.tenant_id, event_kind(run), data)
    unannounced = await store.announce_dead_letters(tx.conn, connector["id"])
    title = _title(connector["name"], run, await _previous_run(tx, run), unannounced > 0)
    if title is None:
        return
    await tx.conn.execute(
        "INSERT INTO app.notifications (tenant_id, kind, title, data) VALUES ($1, 'integration_sync', $2, $3)",
        tx.tenant_id,
        title[:300],
        data,
    )


def _title(name: str, run: dict, previous: dict | None, dead_lettered: bool) -> str | None:
    previous_failed = previous is not None and previous["status"] == "failed"
    some = "some records were dead-lettered"
    if run["status"] == "failed":
        still_on = previous_failed and previous is not None and previous["same_error"]
        if still_on and not dead_lettered:
            return None  # the failure the tenant was told of when it started
        return f"ERP sync of {name} failed{f' ({some})' if dead_lettered else ''}: {run['error']}"
    if previous_failed:
        return f"ERP sync of {name} works again{f'; {some}' if dead_lettered else ''}"
    return f"ERP sync of {name} finished; {some}" if dead_lettered else None


async def _previous_run(tx: TenantTransaction, run: dict) -> dict | None:
    """The connector's run closed before ``run``. Runs of one connector never overlap (at most one is queued or
    running), so the one created last before it was also closed last."""
    row = await tx.conn.fetchrow(
        """SELECT status, app.integration_error_key(error) = app.integration_error_key($5) AS same_error
           FROM app.integration_sync_runs
           WHERE tenant_id = $1 AND connector_id = $2 AND id <> $3 AND created_at <= $4
             AND status NOT IN ('queued', 'running')
           ORDER BY created_at DESC, id DESC LIMIT 1""",
        tx.tenant_id,
        run["connector_id"],
        run["id"],
        run["created_at"],
        run["error"],
    )
    return dict(row) if row is not None else None
