-- The scheduler claimed due connectors in (tenant, id) order up to its limit: with more due than the limit each
-- round, the same first ones were claimed again every time and the rest never synced. Now the longest overdue
-- (a connector that never ran first) come first.
CREATE OR REPLACE FUNCTION app.claim_due_integration_syncs(p_tenant uuid DEFAULT NULL, p_limit integer DEFAULT 100)
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
        CROSS JOIN LATERAL (
            SELECT coalesce(max(coalesce(l.started_at, l.created_at)), '-infinity') AS at
            FROM app.integration_sync_runs l WHERE l.tenant_id = c.tenant_id AND l.connector_id = c.id) last_run
        WHERE c.enabled AND c.sync_interval_minutes IS NOT NULL
          AND (p_tenant IS NULL OR c.tenant_id = p_tenant)
          AND NOT EXISTS (
              SELECT 1 FROM app.integration_sync_runs a
              WHERE a.tenant_id = c.tenant_id AND a.connector_id = c.id AND a.status IN ('queued', 'running'))
          AND last_run.at <= now() - make_interval(mins => c.sync_interval_minutes)
        -- Longest overdue first: with more due than p_limit, the ones left out come first next time.
        ORDER BY last_run.at + make_interval(mins => c.sync_interval_minutes), c.tenant_id, c.id
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
