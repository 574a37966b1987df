-- Copilot questions are counted in their own log beside the OpenAI-compatible route's calls (`kind`). They were
-- counted as the caller's messages, which go with a deleted conversation: a member could delete their
-- conversations and ask again past the per-minute limit. No route deletes these rows; each request prunes the
-- caller's rows that have left the one-minute window.
ALTER TABLE app.copilot_llm_requests RENAME TO copilot_requests;
ALTER TABLE app.copilot_requests
    ADD COLUMN kind text NOT NULL DEFAULT 'llm' CHECK (kind IN ('llm', 'question'));
DROP INDEX app.copilot_llm_requests_user_idx;
CREATE INDEX copilot_requests_user_idx ON app.copilot_requests (tenant_id, user_id, kind, created_at);
