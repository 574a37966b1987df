-- A sync run that failed as the one before it (same error, no run between them that went through) is recorded and
-- announced on chainsight_events, but notified only when the failure starts (integrations/sync_notices.py). Two
-- ways round that wrote the same notification every scheduled interval, ~96 a day:
-- * runs the service closes here (a job that could not start, such as credentials that no longer decrypt after a
--   key rotation, or one abandoned by a job that died) were notified every time;
-- * errors that carry per-request noise (Microsoft's Trace ID, Correlation ID and Timestamp, a gateway's request
--   number) never equalled the previous one.
-- Errors are now compared by app.integration_error_key, the one rule for both this function and the job's own
-- close (integrations/sync_notices.py asks it): ids, timestamps and long numbers masked, whitespace collapsed.

-- UUIDs and runs of 16 or more hex digits (trace and request ids) read '<id>', a date with a time '<time>', six or
-- more digits '#'. Shorter numbers stay: an order number or an HTTP status is what tells one failure from another.
CREATE FUNCTION app.integration_error_key(p_error text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(p_error,
        '[[:xdigit:]]{8}-[[:xdigit:]]{4}-[[:xdigit:]]{4}-[[:xdigit:]]{4}-[[:xdigit:]]{12}', '<id>', 'g'),
        '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?', '<time>', 'gi'),
        '\m[[:xdigit:]]{16,}\M', '<id>', 'g'),
        '\d{6,}', '#', 'g'),
        '\s+', ' ', 'g'))
$$;
REVOKE ALL ON FUNCTION app.integration_error_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.integration_error_key(text) TO authenticated;

-- As in the baseline, but a failed run whose connector's previous closed run failed with the same error key, and
-- that announces no dead letters, writes no notification (its run row and, from the callers, its event remain).
-- Every run closed here fails, so "works again" stays with the job's own close.
CREATE OR REPLACE FUNCTION app.close_integration_run(p_run uuid, p_status text, p_counts jsonb, p_error text,
                                                     p_from text[])
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
    ), letters AS (
        UPDATE app.integration_dead_letters d SET announced_at = now()
        FROM announced a
        WHERE d.tenant_id = a.tenant_id AND d.connector_id = a.connector_id AND a.status <> 'succeeded'
          AND d.resolved_at IS NULL AND d.announced_at IS NULL
        RETURNING d.id
    ), previous AS (
        -- The run closed before this one, as integrations/sync_notices.py reads it: runs of a connector never
        -- overlap, so the one created last before it. This statement's snapshot still has this run open.
        SELECT p.status, p.error
        FROM announced a
        JOIN app.integration_sync_runs p ON p.tenant_id = a.tenant_id AND p.connector_id = a.connector_id
        WHERE p.id <> a.id AND p.created_at <= a.created_at AND p.status NOT IN ('queued', 'running')
        ORDER BY p.created_at DESC, p.id DESC
        LIMIT 1
    ), notified AS (
        INSERT INTO app.notifications (tenant_id, kind, title, data)
        SELECT a.tenant_id, 'integration_sync',
               left(CASE WHEN a.status = 'failed'
                         THEN format('ERP sync of %s failed%s: %s', a.connector_name,
                                     CASE WHEN EXISTS (SELECT 1 FROM letters)
                                          THEN ' (some records were dead-lettered)' ELSE '' END,
                                     a.error)
                         ELSE format('ERP sync of %s finished; some records were dead-lettered', a.connector_name)
                    END, 300),
               jsonb_build_object('connector_id', a.connector_id::text, 'connector', a.connector_name,
                                  'run_id', a.id::text, 'status', a.status, 'counts', a.counts, 'error', a.error)
        FROM announced a
        WHERE a.status <> 'succeeded'
          AND NOT (a.status = 'failed' AND NOT EXISTS (SELECT 1 FROM letters)
                   AND EXISTS (SELECT 1 FROM previous p
                               WHERE p.status = 'failed'
                                 AND app.integration_error_key(p.error) = app.integration_error_key(a.error)))
        RETURNING 1
    )
    SELECT a.id, a.tenant_id, a.connector_id, a.status, a.trigger, a.requested_by, a.counts, a.error, a.created_at,
           a.started_at, a.finished_at, a.connector_name
    FROM announced a
$$;
