-- ERP integration: connector configurations (credentials encrypted by the service before they reach the
-- database), per-entity sync cursors, run history, dead letters and the external-id maps that make every
-- upsert idempotent.
--
-- A sync job acts for a tenant with the membership of the connector's `acting_user_id` (the admin who
-- configured it): it enters the tenant through app.enter_request like any request, so row-level security
-- bounds what a job can touch exactly as it bounds an API call.

CREATE TABLE app.integration_connectors (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    kind            text NOT NULL CHECK (kind IN ('odoo', 'sap', 'dynamics', 'netsuite')),
    base_url        text NOT NULL CHECK (length(base_url) BETWEEN 1 AND 500),
    options         jsonb NOT NULL DEFAULT '{}',   -- non-secret settings: database, company, account, ...
    credentials     bytea NOT NULL,                -- Fernet token; never leaves the service in clear
    mapping         jsonb NOT NULL DEFAULT '{}',   -- units, warehouse codes, currencies
    entities        text[] NOT NULL,
    acting_user_id  uuid NOT NULL,
    enabled         boolean NOT NULL DEFAULT true,
    created_by      uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

-- The last committed change marker per entity: written in the same transaction as the rows it covers.
CREATE TABLE app.integration_sync_state (
    tenant_id     uuid NOT NULL,
    connector_id  uuid NOT NULL,
    entity        text NOT NULL,
    cursor        jsonb,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id, entity),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES app.integration_connectors (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE app.integration_sync_runs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL,
    connector_id  uuid NOT NULL,
    status        text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'completed_with_errors', 'failed')),
    trigger       text NOT NULL CHECK (trigger IN ('api', 'cli', 'schedule')),
    requested_by  uuid,
    counts        jsonb NOT NULL DEFAULT '{}',
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    heartbeat_at  timestamptz,
    finished_at   timestamptz,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES app.integration_connectors (tenant_id, id) ON DELETE CASCADE
);
-- At most one queued or running sync per connector.
CREATE UNIQUE INDEX integration_sync_runs_active_idx ON app.integration_sync_runs (tenant_id, connector_id)
    WHERE status IN ('queued', 'running');
CREATE INDEX integration_sync_runs_created_idx ON app.integration_sync_runs (tenant_id, connector_id, created_at, id);

-- Records that failed validation or mapping. One row per external record: a later failure updates it, a
-- later success resolves it.
CREATE TABLE app.integration_dead_letters (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL,
    connector_id  uuid NOT NULL,
    entity        text NOT NULL,
    external_id   text NOT NULL,
    run_id        uuid,
    error         text NOT NULL,
    payload       jsonb,
    attempts      integer NOT NULL DEFAULT 1,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at   timestamptz,
    UNIQUE (tenant_id, connector_id, entity, external_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES app.integration_connectors (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX integration_dead_letters_open_idx ON app.integration_dead_letters (tenant_id, connector_id, last_seen_at)
    WHERE resolved_at IS NULL;

-- External id -> Chainsight id, per connector and entity; `fingerprint` is a hash of the mapped record so
-- an unchanged record costs no write.
CREATE TABLE app.integration_external_ids (
    tenant_id     uuid NOT NULL,
    connector_id  uuid NOT NULL,
    entity        text NOT NULL,
    external_id   text NOT NULL,
    local_id      uuid NOT NULL,
    fingerprint   text,
    synced_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id, entity, external_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES app.integration_connectors (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX integration_external_ids_local_idx ON app.integration_external_ids (tenant_id, connector_id, entity, local_id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['integration_connectors', 'integration_sync_state', 'integration_sync_runs',
                             'integration_dead_letters', 'integration_external_ids']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_read ON app.%I FOR SELECT TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id()))$p$, t);
    END LOOP;
    -- Sync jobs write state, runs, dead letters and maps as a writer (admin or planner).
    FOREACH t IN ARRAY ARRAY['integration_sync_state', 'integration_sync_runs', 'integration_dead_letters',
                             'integration_external_ids']
    LOOP
        EXECUTE format($p$CREATE POLICY tenant_insert ON app.%I FOR INSERT TO authenticated
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_update ON app.%I FOR UPDATE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
END
$$;

-- Connector configurations (and their credentials) are changed by admins only.
CREATE POLICY admin_insert ON app.integration_connectors FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.admin_tenant_id()));
CREATE POLICY admin_update ON app.integration_connectors FOR UPDATE TO authenticated
    USING (tenant_id = (SELECT app.admin_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.admin_tenant_id()));
CREATE POLICY admin_delete ON app.integration_connectors FOR DELETE TO authenticated
    USING (tenant_id = (SELECT app.admin_tenant_id()));
CREATE POLICY tenant_delete ON app.integration_external_ids FOR DELETE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()));

GRANT SELECT, INSERT, UPDATE, DELETE ON app.integration_connectors, app.integration_external_ids TO authenticated;
GRANT SELECT, INSERT, UPDATE ON app.integration_sync_state, app.integration_sync_runs, app.integration_dead_letters
    TO authenticated;

-- Who a background sync acts as, for the service's login role only (like app.enter_request): a job knows
-- a tenant and a connector, not a token. The membership itself is checked again by enter_request.
CREATE FUNCTION app.integration_actor(p_tenant uuid, p_connector uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    SELECT c.acting_user_id FROM app.integration_connectors c WHERE c.tenant_id = p_tenant AND c.id = p_connector
$$;
REVOKE ALL ON FUNCTION app.integration_actor(uuid, uuid) FROM PUBLIC;
