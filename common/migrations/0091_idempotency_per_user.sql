-- Idempotency keys belong to the user who sent them (one member's key can no longer replay another member's
-- response, or be refused because another member used the same key), and expire: a key older than 24 hours is
-- claimed afresh (inventory/idempotency.py), and the maintenance job deletes the old ones.
ALTER TABLE app.idempotency_keys ADD COLUMN user_id uuid;
UPDATE app.idempotency_keys SET user_id = '00000000-0000-0000-0000-000000000000' WHERE user_id IS NULL;
ALTER TABLE app.idempotency_keys ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE app.idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE app.idempotency_keys ADD PRIMARY KEY (tenant_id, user_id, key);
CREATE INDEX idempotency_keys_created_idx ON app.idempotency_keys (created_at);
