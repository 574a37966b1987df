-- A sync job closes its runs as the connector's acting member; once that member was demoted (or removed) before
-- the run finished, row-level security refused the update: the run stayed queued or running, blocked every sync
-- of the connector for 15 minutes and was then failed as "abandoned". The job now closes such a run through this
-- function: only the given run, only while it is still in one of p_from (queued or running), announced in its
-- own tenant (read from the run) as a finished run is. For the service's login role only, as the claim itself.
CREATE FUNCTION app.close_integration_run(p_run uuid, p_status text, p_counts jsonb, p_error text, p_from text[])
RETURNS TABLE (id uuid, tenant_id uuid, connector_id uuid, status text, trigger text, requested_by uuid,
               counts jsonb, error text, created_at timestamptz, started_at timestamptz, finished_at timestamptz,
               connector_name text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    WITH closed AS (
        UPDATE app.integration_sync_runs r
        SET status = p_status, counts = coalesce(p_counts, '{}'), error = p_error, finished_at = now(),
            heartbeat_at = now()
        WHERE r.id = p_run AND r.status = ANY(p_from) AND r.status IN ('queued', 'running')
        RETURNING r.*
    ), announced AS (
        SELECT c.*, k.name AS connector_name
        FROM closed c JOIN app.integration_connectors k ON k.tenant_id = c.tenant_id AND k.id = c.connector_id
    ), notified AS (
        INSERT INTO app.notifications (tenant_id, kind, title, data)
        SELECT a.tenant_id, 'integration_sync',
               left(CASE WHEN a.status = 'failed' THEN format('ERP sync of %s failed: %s', a.connector_name, a.error)
                         ELSE format('ERP sync of %s finished; some records were dead-lettered', a.connector_name)
                    END, 300),
               jsonb_build_object('connector_id', a.connector_id::text, 'connector', a.connector_name,
                                  'run_id', a.id::text, 'status', a.status, 'counts', a.counts, 'error', a.error)
        FROM announced a WHERE a.status <> 'succeeded'
        RETURNING 1
    )
    SELECT a.id, a.tenant_id, a.connector_id, a.status, a.trigger, a.requested_by, a.counts, a.error, a.created_at,
           a.started_at, a.finished_at, a.connector_name
    FROM announced a
$$;
REVOKE ALL ON FUNCTION app.close_integration_run(uuid, text, jsonb, text, text[]) FROM PUBLIC;
