-- Carrier webhooks are signed per tenant. Each tenant's admins create, rotate and revoke their own keys; the
-- webhook finds the tenant from the key id a carrier sends (X-Chainsight-Key-Id), never from the body. The
-- secret is a Fernet token (INTEGRATIONS_ENCRYPTION_KEY, like ERP connector credentials): the clear secret is
-- shown once, when it is created or rotated.
CREATE TABLE app.carrier_webhook_keys (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),   -- the key id carriers send
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    secret      bytea NOT NULL,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    revoked_at  timestamptz,
    last_used_at timestamptz,
    UNIQUE (tenant_id, id)
);
CREATE INDEX carrier_webhook_keys_tenant_idx ON app.carrier_webhook_keys (tenant_id, created_at);

-- Every carrier event_id a tenant accepted, once: a captured request replayed inside the signature's skew
-- window finds its event_id here and changes nothing. `body_sha256` tells a retry (same body) from an
-- event_id reused for a different event.
CREATE TABLE app.carrier_webhook_deliveries (
    tenant_id    uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    event_id     text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    key_id       uuid NOT NULL,
    body_sha256  text NOT NULL,
    shipment_id  uuid NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id),
    FOREIGN KEY (tenant_id, key_id) REFERENCES app.carrier_webhook_keys (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE app.carrier_webhook_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.carrier_webhook_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE app.carrier_webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.carrier_webhook_deliveries FORCE ROW LEVEL SECURITY;

-- Keys: admins only, for reading as well (the route also checks the role and never returns `secret`).
CREATE POLICY admin_read ON app.carrier_webhook_keys FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.admin_tenant_id()));
CREATE POLICY admin_insert ON app.carrier_webhook_keys FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.admin_tenant_id()));
CREATE POLICY admin_update ON app.carrier_webhook_keys FOR UPDATE TO authenticated
    USING (tenant_id = (SELECT app.admin_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.admin_tenant_id()));
GRANT SELECT, INSERT, UPDATE ON app.carrier_webhook_keys TO authenticated;

-- Deliveries: written by the webhook's integration member (a planner) in the event's own transaction.
CREATE POLICY tenant_read ON app.carrier_webhook_deliveries FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY tenant_insert ON app.carrier_webhook_deliveries FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
GRANT SELECT, INSERT ON app.carrier_webhook_deliveries TO authenticated;

-- The webhook knows a key id, not a tenant: this looks up an active key's tenant and encrypted secret, for
-- the service's login role only (like app.integration_actor), before any tenant is entered.
CREATE FUNCTION app.carrier_webhook_key(p_key uuid) RETURNS TABLE (tenant_id uuid, secret bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    SELECT k.tenant_id, k.secret FROM app.carrier_webhook_keys k WHERE k.id = p_key AND k.revoked_at IS NULL
$$;
REVOKE ALL ON FUNCTION app.carrier_webhook_key(uuid) FROM PUBLIC;
