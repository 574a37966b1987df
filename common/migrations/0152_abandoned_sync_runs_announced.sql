-- A run whose job stopped reporting (no heartbeat for 15 minutes: the process died) was failed as "abandoned"
-- with a plain UPDATE, by the scheduler's claim (0129) and by a sync started on the connector
-- (integrations.store.create_run), and no one was told: no integration_sync notification and no
-- integration.sync_failed event, which every other failed run has. Both now fail such runs through this function:
-- each run is closed and notified by app.close_integration_run (0140) and announced on chainsight_events with the
-- payload integrations.sync publishes for a closed run. p_tenant and p_connector narrow it (NULL: all);
-- p_scheduled_only keeps to the connectors the scheduler claims (enabled, with an interval), as 0129 did.
-- For the service's login role only, as the claim itself; members go through the one-argument form below.
CREATE FUNCTION app.fail_abandoned_integration_runs(p_tenant uuid, p_connector uuid, p_scheduled_only boolean)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    stale record;
    closed record;
    failed integer := 0;
BEGIN
    FOR stale IN
        SELECT r.id, r.counts
        FROM app.integration_sync_runs r
        JOIN app.integration_connectors c ON c.tenant_id = r.tenant_id AND c.id = r.connector_id
        WHERE (p_tenant IS NULL OR r.tenant_id = p_tenant)
          AND (p_connector IS NULL OR r.connector_id = p_connector)
          AND (NOT p_scheduled_only OR (c.enabled AND c.sync_interval_minutes IS NOT NULL))
          AND r.status IN ('queued', 'running')
          AND coalesce(r.heartbeat_at, r.started_at, r.created_at) < now() - interval '15 minutes'
        ORDER BY r.tenant_id, r.id
        -- Re-read under the lock: a heartbeat committed meanwhile takes the run out of the loop.
        FOR UPDATE OF r
    LOOP
        FOR closed IN
            SELECT * FROM app.close_integration_run(stale.id, 'failed', stale.counts,
                                                    'abandoned: the sync job stopped reporting',
                                                    ARRAY['queued', 'running'])
        LOOP
            PERFORM pg_notify('chainsight_events', jsonb_build_object(
                'tenant_id', closed.tenant_id, 'type', 'integration.sync_failed', 'at', now(),
                'data', jsonb_build_object('connector_id', closed.connector_id::text,
                                           'connector', closed.connector_name, 'run_id', closed.id::text,
                                           'status', closed.status, 'counts', closed.counts,
                                           'error', closed.error))::text);
            failed := failed + 1;
        END LOOP;
    END LOOP;
    RETURN failed;
END
$$;
REVOKE ALL ON FUNCTION app.fail_abandoned_integration_runs(uuid, uuid, boolean) FROM PUBLIC;

-- A member starting a sync (create_run, as an admin or planner) fails the abandoned runs of that connector in
-- their own tenant only; anyone else is refused.
CREATE FUNCTION app.fail_abandoned_integration_runs(p_connector uuid) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    writable uuid := app.writable_tenant_id();
BEGIN
    IF writable IS NULL OR p_connector IS NULL THEN
        RAISE EXCEPTION 'failing abandoned sync runs needs a writer of the tenant and a connector'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN app.fail_abandoned_integration_runs(writable, p_connector, false);
END
$$;
REVOKE ALL ON FUNCTION app.fail_abandoned_integration_runs(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.fail_abandoned_integration_runs(uuid) TO authenticated;

CREATE OR REPLACE FUNCTION app.claim_due_integration_syncs(p_tenant uuid DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (tenant_id uuid, connector_id uuid, run_id uuid, connector_name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('app.claim_due_integration_syncs'));

    PERFORM app.fail_abandoned_integration_runs(p_tenant, NULL, true);

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
