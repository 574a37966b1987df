-- A scheduled run claimed by one job waits, queued, until the job's Ray cluster has a worker for it; the next
-- quarter hour's claim took it for abandoned ("the sync job stopped reporting") and failed it. The job now stamps
-- the claims it still holds while they wait. For the service's login role only, as the claim itself.
CREATE FUNCTION app.keep_integration_claims(p_runs uuid[]) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    WITH kept AS (
        UPDATE app.integration_sync_runs SET heartbeat_at = now()
        WHERE id = ANY(p_runs) AND status = 'queued'
        RETURNING 1
    )
    SELECT count(*)::integer FROM kept
$$;
REVOKE ALL ON FUNCTION app.keep_integration_claims(uuid[]) FROM PUBLIC;
