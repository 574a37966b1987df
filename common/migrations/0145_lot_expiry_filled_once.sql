-- A lot first received without its expiry takes the one a later receipt of it names; a recorded expiry stays
-- as it is (a different one is still refused, 409 lot_expiry_mismatch). Until now lots were insert-only, so such
-- a lot could never get its expiry: every later receipt naming one was refused ("recorded with expiry None").
GRANT UPDATE (expiry_date) ON app.stock_lots TO authenticated;
CREATE POLICY tenant_fill_expiry ON app.stock_lots FOR UPDATE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()) AND expiry_date IS NULL)
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
