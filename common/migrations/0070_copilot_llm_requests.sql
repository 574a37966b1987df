-- Calls of the OpenAI-compatible LLM route, counted per user for its rate limit (like copilot questions,
-- in the database so the limit holds across replicas). Rows older than the window are pruned as new
-- ones arrive, so the table stays small.

CREATE TABLE app.copilot_llm_requests (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL DEFAULT app.current_user_id(),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX copilot_llm_requests_user_idx ON app.copilot_llm_requests (tenant_id, user_id, created_at);

ALTER TABLE app.copilot_llm_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.copilot_llm_requests FORCE ROW LEVEL SECURITY;
-- Any member (viewers too) may call the model; each sees and counts only their own calls.
CREATE POLICY own_rows ON app.copilot_llm_requests FOR ALL TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()));

GRANT SELECT, INSERT, DELETE ON app.copilot_llm_requests TO authenticated;
