-- Copilot: documents and their chunks (pgvector + full text), conversations, messages and feedback.
-- Same isolation as the foundation: tenant_id on every row, ENABLE + FORCE row-level security, composite
-- foreign keys. Conversations, their messages and feedback are also private to the user who started them.

CREATE TABLE app.copilot_documents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    filename      text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type  text NOT NULL,
    size_bytes    integer NOT NULL CHECK (size_bytes > 0),
    sha256        text NOT NULL,
    chunk_count   integer NOT NULL CHECK (chunk_count > 0),
    uploaded_by   uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Re-uploading a file with the same name replaces it.
    UNIQUE (tenant_id, filename),
    UNIQUE (tenant_id, id)
);

CREATE TABLE app.copilot_chunks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    document_id  uuid NOT NULL,
    ordinal      integer NOT NULL CHECK (ordinal >= 0),
    section      text,
    page         integer CHECK (page >= 1),
    content      text NOT NULL CHECK (length(content) > 0),
    embedding    vector(384) NOT NULL,
    tsv          tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(section, '') || ' ' || content)) STORED,
    UNIQUE (tenant_id, document_id, ordinal),
    FOREIGN KEY (tenant_id, document_id) REFERENCES app.copilot_documents (tenant_id, id) ON DELETE CASCADE
);
-- The HNSW graph is shared by all tenants; row-level security filters its candidates, so retrieval asks for
-- more candidates than it returns (hnsw.ef_search) and fuses with full text.
CREATE INDEX copilot_chunks_embedding_idx ON app.copilot_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX copilot_chunks_tsv_idx ON app.copilot_chunks USING gin (tsv);
CREATE INDEX copilot_chunks_document_idx ON app.copilot_chunks (tenant_id, document_id);

CREATE TABLE app.copilot_conversations (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL DEFAULT app.current_user_id(),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX copilot_conversations_user_idx ON app.copilot_conversations (tenant_id, user_id, updated_at);

CREATE TABLE app.copilot_messages (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL,
    conversation_id  uuid NOT NULL,
    user_id          uuid NOT NULL DEFAULT app.current_user_id(),
    role             text NOT NULL CHECK (role IN ('user', 'assistant')),
    content          text NOT NULL,
    sources          jsonb NOT NULL DEFAULT '[]',
    tool_calls       jsonb NOT NULL DEFAULT '[]',
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES app.copilot_conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX copilot_messages_conversation_idx ON app.copilot_messages (tenant_id, conversation_id, created_at);
-- The per-user rate limit counts recent questions.
CREATE INDEX copilot_messages_user_idx ON app.copilot_messages (tenant_id, user_id, created_at) WHERE role = 'user';

CREATE TABLE app.copilot_feedback (
    tenant_id   uuid NOT NULL,
    message_id  uuid NOT NULL,
    user_id     uuid NOT NULL DEFAULT app.current_user_id(),
    rating      smallint NOT NULL CHECK (rating IN (-1, 1)),
    comment     text CHECK (length(comment) <= 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, message_id, user_id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES app.copilot_messages (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['copilot_documents', 'copilot_chunks', 'copilot_conversations', 'copilot_messages',
                             'copilot_feedback']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

-- Documents: every member reads; planners and admins upload, replace and delete.
CREATE POLICY tenant_read ON app.copilot_documents FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY tenant_insert ON app.copilot_documents FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
CREATE POLICY tenant_delete ON app.copilot_documents FOR DELETE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()));
CREATE POLICY tenant_read ON app.copilot_chunks FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()));
CREATE POLICY tenant_insert ON app.copilot_chunks FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
CREATE POLICY tenant_delete ON app.copilot_chunks FOR DELETE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()));

-- Conversations, messages and feedback: any member (viewers too) may ask, but only about their own threads.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['copilot_conversations', 'copilot_messages', 'copilot_feedback']
    LOOP
        EXECUTE format($p$CREATE POLICY own_rows ON app.%I FOR ALL TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id())
                               AND user_id = (SELECT app.current_user_id()))
                        WITH CHECK (tenant_id = (SELECT app.current_tenant_id())
                                    AND user_id = (SELECT app.current_user_id()))$p$, t);
    END LOOP;
END
$$;

GRANT SELECT, INSERT, DELETE ON app.copilot_documents, app.copilot_chunks TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.copilot_conversations, app.copilot_feedback TO authenticated;
GRANT SELECT, INSERT ON app.copilot_messages TO authenticated;
