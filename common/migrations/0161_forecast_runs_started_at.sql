-- A forecast run whose job's process ended before it finished (Ray's SIGTERM, an OOM kill: the job's except
-- clause never ran) stayed 'running' for good unless a rerun of the same night reused its run key; GET
-- /ai/forecast/runs showed it running. training.registry.start_run now fails the runs of the same tenant and
-- model still running more than 12 hours after they started (training.registry_runs.STALE_AFTER: the nightly
-- RayJob's deadline is 4 hours and nights are 24 apart) as 'interrupted: the job stopped before finishing it'.
-- started_at is when the run was last started: a rerun under the same run key starts it again, so a row created
-- long ago but running now is not taken for an interrupted one. Existing rows start at their creation.
ALTER TABLE app.forecast_runs ADD COLUMN started_at timestamptz;
UPDATE app.forecast_runs SET started_at = created_at;
ALTER TABLE app.forecast_runs ALTER COLUMN started_at SET DEFAULT now(), ALTER COLUMN started_at SET NOT NULL;

-- The runs left running by jobs that stopped before today are failed now, as the next start would fail them.
UPDATE app.forecast_runs
SET status = 'failed', finished_at = now(),
    metrics = metrics || jsonb_build_object('error', 'interrupted: the job stopped before finishing it')
WHERE status = 'running' AND started_at < now() - interval '12 hours';
