-- A push of a purchase order to an ERP claims the order for that connector before the ERP call (committed, so
-- nothing is held open while the ERP answers) and releases it when the call has answered: a second push of the
-- same order meanwhile is refused (409 push_in_progress) instead of creating a second order in the ERP. A claim
-- older than ten minutes (a process that died during the call) may be taken over.
CREATE TABLE app.integration_push_claims (
    tenant_id         uuid NOT NULL,
    connector_id      uuid NOT NULL,
    purchase_order_id uuid NOT NULL,
    claimed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, connector_id, purchase_order_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES app.integration_connectors (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, purchase_order_id) REFERENCES app.purchase_orders (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE app.integration_push_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.integration_push_claims FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON app.integration_push_claims FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY tenant_insert ON app.integration_push_claims FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
CREATE POLICY tenant_update ON app.integration_push_claims FOR UPDATE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
CREATE POLICY tenant_delete ON app.integration_push_claims FOR DELETE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()));
GRANT SELECT, INSERT, UPDATE, DELETE ON app.integration_push_claims TO authenticated;
