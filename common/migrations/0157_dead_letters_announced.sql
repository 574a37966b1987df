-- A run notified "some records were dead-lettered" only for the dead letters it opened itself, and only when it
-- did not fail: one that dead-lettered records and then failed (the ERP gone mid-run, a job that died) told only
-- of its failure, and the runs after it met those letters open already, so they were never announced. Each dead
-- letter now records when it was announced (announced_at, cleared when it is reopened); every run that closes
-- announces the open ones not yet announced and marks them in the same transaction (integrations.sync for the
-- job's own close, app.close_integration_run below for the service's), so each is announced once.
-- It may run again (its test does): the column is added once, and the repair sets every letter's announced_at afresh.
ALTER TABLE app.integration_dead_letters ADD COLUMN IF NOT EXISTS announced_at timestamptz;

-- Repair: an open letter first seen while a run that failed was under way was never announced (not reopened
-- since, or its reopening run would have announced it, as far as the stored rows tell); the next run to close
-- announces it. Every other letter counts as announced when it was first seen.
UPDATE app.integration_dead_letters d
SET announced_at = CASE
        WHEN d.resolved_at IS NULL AND EXISTS (
            SELECT 1 FROM app.integration_sync_runs r
            WHERE r.tenant_id = d.tenant_id AND r.connector_id = d.connector_id AND r.status = 'failed'
              AND d.first_seen_at BETWEEN coalesce(r.started_at, r.created_at) AND coalesce(r.finished_at, now()))
        THEN NULL
        ELSE d.first_seen_at
    END;

-- As in 0140, and the open letters of the run's connector not yet announced are announced with it: a failed run's
-- title says "failed (some records were dead-lettered): <error>".
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
        FROM announced a WHERE a.status <> 'succeeded'
        RETURNING 1
    )
    SELECT a.id, a.tenant_id, a.connector_id, a.status, a.trigger, a.requested_by, a.counts, a.error, a.created_at,
           a.started_at, a.finished_at, a.connector_name
    FROM announced a
$$;
REVOKE ALL ON FUNCTION app.close_integration_run(uuid, text, jsonb, text, text[]) FROM PUBLIC;
