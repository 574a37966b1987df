-- Scheduled ERP syncs: an optional interval per connector, and the function a scheduler (the RayCronJob
-- cluster/base/integrations-due-sync.yaml, or `chainsight up`'s background loop) calls to claim the
-- connectors that are due, across tenants.
--
-- NULL = manual syncs only. Admins set it through the connector API, under the admin policies of 0050.
ALTER TABLE app.integration_connectors
    ADD COLUMN sync_interval_minutes integer CHECK (sync_interval_minutes BETWEEN 5 AND 10080);

CREATE INDEX integration_connectors_scheduled_idx ON app.integration_connectors (tenant_id, id)
    WHERE enabled AND sync_interval_minutes IS NOT NULL;

-- Claim every due connector: enabled, scheduled, its acting member still allowed to write, no run queued
-- or running (runs silent for 15 minutes count as abandoned and are failed first, as the API does), and
-- no run started within the interval. Each claim is a queued run with trigger 'schedule', inserted in
-- this transaction; the job then starts it by id like an API-queued run.
--
-- Two schedulers never claim the same connector: the transaction-scoped advisory lock serialises
-- claimers (each statement after it sees what an earlier claimer committed), and the unique partial
-- index integration_sync_runs_active_idx refuses a second active run even beside an API request
-- (ON CONFLICT DO NOTHING: the API's run wins, the scheduler skips the connector).
--
-- For the service's login role only (like app.integration_actor): the job knows no user, and it reads
-- connectors of every tenant. p_tenant narrows it to one tenant; p_limit caps the claims of one call.
CREATE FUNCTION app.claim_due_integration_syncs(p_tenant uuid DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (tenant_id uuid, connector_id uuid, run_id uuid, connector_name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('app.claim_due_integration_syncs'));

    UPDATE app.integration_sync_runs r
    SET status = 'failed', finished_at = now(), error = 'abandoned: the sync job stopped reporting'
    FROM app.integration_connectors c
    WHERE r.tenant_id = c.tenant_id AND r.connector_id = c.id
      AND c.enabled AND c.sync_interval_minutes IS NOT NULL
      AND (p_tenant IS NULL OR c.tenant_id = p_tenant)
      AND r.status IN ('queued', 'running')
      AND coalesce(r.heartbeat_at, r.started_at, r.created_at) < now() - interval '15 minutes';

    RETURN QUERY
    WITH due AS (
        SELECT c.tenant_id, c.id
        FROM app.integration_connectors c
        JOIN app.members m ON m.tenant_id = c.tenant_id AND m.user_id = c.acting_user_id
                          AND m.role IN ('admin', 'planner')
        WHERE c.enabled AND c.sync_interval_minutes IS NOT NULL
          AND (p_tenant IS NULL OR c.tenant_id = p_tenant)
          AND NOT EXISTS (
              SELECT 1 FROM app.integration_sync_runs a
              WHERE a.tenant_id = c.tenant_id AND a.connector_id = c.id AND a.status IN ('queued', 'running'))
          AND coalesce((SELECT max(coalesce(l.started_at, l.created_at)) FROM app.integration_sync_runs l
                        WHERE l.tenant_id = c.tenant_id AND l.connector_id = c.id), '-infinity')
              <= now() - make_interval(mins => c.sync_interval_minutes)
        ORDER BY c.tenant_id, c.id
        LIMIT greatest(p_limit, 0)
    ),
    claimed AS (
        INSERT INTO app.integration_sync_runs AS r (tenant_id, connector_id, status, trigger)
        SELECT due.tenant_id, due.id, 'queued', 'schedule' FROM due
        ON CONFLICT (tenant_id, connector_id) WHERE status IN ('queued', 'running') DO NOTHING
        RETURNING r.tenant_id, r.connector_id, r.id
    )
    SELECT cl.tenant_id, cl.connector_id, cl.id, c.name
    FROM claimed cl JOIN app.integration_connectors c ON c.tenant_id = cl.tenant_id AND c.id = cl.connector_id
    ORDER BY cl.tenant_id, c.name;
END
$$;
REVOKE ALL ON FUNCTION app.claim_due_integration_syncs(uuid, integer) FROM PUBLIC;
