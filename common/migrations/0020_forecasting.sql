-- Forecasting: the model registry (one row per training or batch run) and the stored demand forecasts.
--
-- Both are tenant tables with the foundation's row-level security. A run is identified by
-- (tenant, model_name, run_key), so a rerun of the same job (e.g. the nightly batch for the same date)
-- finds its run again instead of adding one, and its forecasts replace the earlier ones: the primary key
-- of demand_forecasts makes a duplicate impossible even if a writer forgot to delete first.

CREATE TABLE app.forecast_runs (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    -- The registered model: what serving asks the champion of, e.g. 'demand-D' or 'demand-W'.
    model_name      text NOT NULL CHECK (length(model_name) BETWEEN 1 AND 100),
    -- How it was built: 'auto' (per-series selection), 'xgboost', 'deepar', ...
    model_type      text NOT NULL CHECK (length(model_type) BETWEEN 1 AND 100),
    version         integer NOT NULL CHECK (version > 0),
    run_key         text NOT NULL CHECK (length(run_key) BETWEEN 1 AND 200),
    freq            text NOT NULL,
    horizon         integer NOT NULL CHECK (horizon > 0),
    params          jsonb NOT NULL DEFAULT '{}',
    training_start  timestamptz,
    training_end    timestamptz,
    series_count    integer NOT NULL DEFAULT 0 CHECK (series_count >= 0),
    -- Backtest metrics (mase, smape, bias, coverage ...): promotion compares these.
    metrics         jsonb NOT NULL DEFAULT '{}',
    artifact_uri    text,
    status          text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'candidate', 'champion', 'retired', 'failed')),
    promotion_note  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    promoted_at     timestamptz,
    UNIQUE (tenant_id, model_name, version),
    UNIQUE (tenant_id, model_name, run_key),
    UNIQUE (tenant_id, id)
);
-- At most one champion per registered model: a concurrent double promotion fails instead of leaving two.
CREATE UNIQUE INDEX forecast_runs_one_champion ON app.forecast_runs (tenant_id, model_name)
    WHERE status = 'champion';
CREATE INDEX forecast_runs_created_idx ON app.forecast_runs (tenant_id, model_name, created_at DESC);

CREATE TABLE app.demand_forecasts (
    tenant_id     uuid NOT NULL,
    run_id        uuid NOT NULL,
    product_id    uuid NOT NULL,
    warehouse_id  uuid NOT NULL,
    ds            timestamptz NOT NULL,
    yhat          double precision NOT NULL,
    -- {"0.1": 3.2, "0.5": 5.0, "0.9": 7.9}: level -> value, non-decreasing in the level.
    quantiles     jsonb NOT NULL DEFAULT '{}',
    -- The model that produced this series (per-series selection: 'auto_ets', 'ensemble', ...).
    model         text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id, product_id, warehouse_id, ds),
    FOREIGN KEY (tenant_id, run_id) REFERENCES app.forecast_runs (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX demand_forecasts_series_idx ON app.demand_forecasts (tenant_id, product_id, warehouse_id, ds);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['forecast_runs', 'demand_forecasts']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_read ON app.%I FOR SELECT TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_insert ON app.%I FOR INSERT TO authenticated
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_update ON app.%I FOR UPDATE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_delete ON app.%I FOR DELETE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, UPDATE ON app.forecast_runs TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.demand_forecasts TO authenticated;
