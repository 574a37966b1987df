-- Foundation: tenants, members, catalogue, warehouses, the stock ledger, stock levels, reservations,
-- idempotency keys, and row-level security on every tenant table.
--
-- Requests run as the non-owner role `authenticated` (the role Supabase/PostgREST use) with the verified
-- JWT claims in `request.jwt.claims` and the chosen tenant in `app.tenant_id`, both transaction-local.
-- The policies below are the security boundary: Python filters are a convenience, not a guarantee.

CREATE EXTENSION IF NOT EXISTS vector;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
END
$$;

-- The login role the service connects with must be able to switch to `authenticated`.
DO $$
BEGIN
    EXECUTE format('GRANT authenticated TO %I', current_user);
EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    NULL;  -- already granted, or the connecting role is a superuser and needs no grant
END
$$;

CREATE SCHEMA IF NOT EXISTS app;
GRANT USAGE ON SCHEMA app TO authenticated;

CREATE TABLE app.tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app.members (
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL,
    email       text,
    role        text NOT NULL CHECK (role IN ('admin', 'planner', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX members_user_idx ON app.members (user_id);

-- Claim helpers. They read only what the verified token put into the transaction.
CREATE FUNCTION app.current_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid
$$;

-- The tenant of this request, but only when the caller is a member of it. SECURITY DEFINER so the
-- policies can consult `members` without recursing into members' own policy.
CREATE FUNCTION app.current_tenant_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    SELECT m.tenant_id
    FROM app.members m
    WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
      AND m.user_id = app.current_user_id()
$$;

-- Same, but only for members allowed to change data.
CREATE FUNCTION app.writable_tenant_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    SELECT m.tenant_id
    FROM app.members m
    WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
      AND m.user_id = app.current_user_id()
      AND m.role IN ('admin', 'planner')
$$;

CREATE FUNCTION app.admin_tenant_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    SELECT m.tenant_id
    FROM app.members m
    WHERE m.tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid
      AND m.user_id = app.current_user_id()
      AND m.role = 'admin'
$$;

GRANT EXECUTE ON FUNCTION app.current_user_id(), app.current_tenant_id(), app.writable_tenant_id(),
    app.admin_tenant_id() TO authenticated;

CREATE TABLE app.products (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id        uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    sku              text NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description      text,
    category         text,
    unit_of_measure  text NOT NULL DEFAULT 'each',
    unit_cost        numeric(14, 4) CHECK (unit_cost >= 0),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, sku),
    UNIQUE (tenant_id, id)
);

CREATE TABLE app.suppliers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    code            text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    country         char(2),
    email           text,
    lead_time_days  integer CHECK (lead_time_days >= 0),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code),
    UNIQUE (tenant_id, id)
);

CREATE TABLE app.warehouses (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    code        text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    country     char(2),
    city        text,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code),
    UNIQUE (tenant_id, id)
);

-- Stock on hand and reserved per product and warehouse. `on_hand` is written only by the ledger trigger
-- below, so it always equals the sum of the ledger; `reserved` by reservations. The CHECKs make
-- overselling impossible whatever the caller does.
CREATE TABLE app.stock_levels (
    id            uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,  -- a stable tiebreak for cursors
    tenant_id     uuid NOT NULL,
    product_id    uuid NOT NULL,
    warehouse_id  uuid NOT NULL,
    on_hand       numeric(18, 4) NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved      numeric(18, 4) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    available     numeric(18, 4) GENERATED ALWAYS AS (on_hand - reserved) STORED,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, product_id, warehouse_id),
    CONSTRAINT stock_levels_reserved_within_on_hand CHECK (reserved <= on_hand),
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id)
);
CREATE INDEX stock_levels_warehouse_idx ON app.stock_levels (tenant_id, warehouse_id);

-- The append-only ledger. Quantity is signed: receipts and transfer-ins add, issues and transfer-outs take.
CREATE TABLE app.stock_movements (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id       uuid NOT NULL,
    product_id      uuid NOT NULL,
    warehouse_id    uuid NOT NULL,
    movement_type   text NOT NULL
        CHECK (movement_type IN ('receipt', 'issue', 'transfer_out', 'transfer_in', 'adjustment')),
    quantity        numeric(18, 4) NOT NULL CHECK (quantity <> 0),
    transfer_id     uuid,
    reservation_id  uuid,
    reference       text,
    reason          text,
    created_by      uuid,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (
        (movement_type IN ('receipt', 'transfer_in') AND quantity > 0)
        OR (movement_type IN ('issue', 'transfer_out') AND quantity < 0)
        OR movement_type = 'adjustment'
    ),
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id)
);
CREATE INDEX stock_movements_product_idx ON app.stock_movements (tenant_id, product_id, occurred_at);
CREATE INDEX stock_movements_warehouse_idx ON app.stock_movements (tenant_id, warehouse_id, occurred_at);
CREATE INDEX stock_movements_created_idx ON app.stock_movements (tenant_id, created_at, id);

CREATE FUNCTION app.apply_stock_movement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Create the level at zero first: a single INSERT .. ON CONFLICT would check the CHECK constraints
    -- against the proposed (possibly negative) row before noticing the conflict.
    INSERT INTO app.stock_levels (tenant_id, product_id, warehouse_id)
    VALUES (NEW.tenant_id, NEW.product_id, NEW.warehouse_id)
    ON CONFLICT (tenant_id, product_id, warehouse_id) DO NOTHING;
    UPDATE app.stock_levels
    SET on_hand = on_hand + NEW.quantity, updated_at = now()
    WHERE tenant_id = NEW.tenant_id AND product_id = NEW.product_id AND warehouse_id = NEW.warehouse_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER stock_movements_apply AFTER INSERT ON app.stock_movements
    FOR EACH ROW EXECUTE FUNCTION app.apply_stock_movement();

CREATE FUNCTION app.reject_ledger_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stock_movements is append-only: post a correcting movement instead'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON app.stock_movements
    FOR EACH ROW EXECUTE FUNCTION app.reject_ledger_rewrite();

CREATE TABLE app.reservations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL,
    product_id    uuid NOT NULL,
    warehouse_id  uuid NOT NULL,
    quantity      numeric(18, 4) NOT NULL CHECK (quantity > 0),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released', 'fulfilled')),
    reference     text,
    expires_at    timestamptz,
    created_by    uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id)
);
CREATE INDEX reservations_product_idx ON app.reservations (tenant_id, product_id, warehouse_id, status);
CREATE INDEX reservations_created_idx ON app.reservations (tenant_id, created_at, id);

-- A POST that changes stock is applied once per key; the stored response is replayed afterwards.
CREATE TABLE app.idempotency_keys (
    tenant_id     uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint   text NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- Row-level security. FORCE so that even the owner is filtered if it ever runs a request.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['products', 'suppliers', 'warehouses', 'stock_levels', 'stock_movements',
                             'reservations', 'idempotency_keys']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_read ON app.%I FOR SELECT TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_insert ON app.%I FOR INSERT TO authenticated
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['products', 'suppliers', 'warehouses', 'stock_levels', 'reservations',
                             'idempotency_keys']
    LOOP
        EXECUTE format($p$CREATE POLICY tenant_update ON app.%I FOR UPDATE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['products', 'suppliers', 'warehouses']
    LOOP
        EXECUTE format($p$CREATE POLICY tenant_delete ON app.%I FOR DELETE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
END
$$;

ALTER TABLE app.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_self_read ON app.tenants FOR SELECT TO authenticated
    USING (id = (SELECT app.current_tenant_id()));

ALTER TABLE app.members ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.members FORCE ROW LEVEL SECURITY;
CREATE POLICY members_read ON app.members FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()) OR user_id = (SELECT app.current_user_id()));
CREATE POLICY members_admin_write ON app.members FOR ALL TO authenticated
    USING (tenant_id = (SELECT app.admin_tenant_id()))
    WITH CHECK (tenant_id = (SELECT app.admin_tenant_id()));

GRANT SELECT ON app.tenants TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.members, app.products, app.suppliers, app.warehouses TO authenticated;
GRANT SELECT, INSERT, UPDATE ON app.stock_levels, app.reservations, app.idempotency_keys TO authenticated;
-- The ledger: insert and read only.
GRANT SELECT, INSERT ON app.stock_movements TO authenticated;

-- One round trip at the start of every request transaction: store the verified claims, resolve the
-- caller's memberships (optionally for one requested tenant), scope the transaction to the tenant when
-- exactly one matches, and drop to the `authenticated` role. Only the service's login role may call it:
-- it trusts its `claims` argument, which the service has already verified.
CREATE FUNCTION app.enter_request(claims jsonb, requested_tenant uuid)
RETURNS TABLE (tenant_id uuid, role text)
LANGUAGE plpgsql AS $$
DECLARE
    matches app.members[];
BEGIN
    PERFORM set_config('request.jwt.claims', claims::text, true);
    SELECT coalesce(array_agg(m ORDER BY m.tenant_id), '{}') INTO matches
    FROM app.members m
    WHERE m.user_id = nullif(claims ->> 'sub', '')::uuid
      AND (requested_tenant IS NULL OR m.tenant_id = requested_tenant);
    PERFORM set_config('app.tenant_id',
                       CASE WHEN cardinality(matches) = 1 THEN matches[1].tenant_id::text ELSE '' END, true);
    PERFORM set_config('role', 'authenticated', true);
    RETURN QUERY SELECT x.tenant_id, x.role FROM unnest(matches) AS x;
END
$$;
REVOKE ALL ON FUNCTION app.enter_request(jsonb, uuid) FROM PUBLIC;
