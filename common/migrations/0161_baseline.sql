-- Chainsight's schema baseline: what migrations 0001..0161 built, squashed into one file.
--
-- The chain it replaces (67 files, 0001_foundation.sql .. 0161_forecast_runs_started_at.sql) is in git history
-- at commit 9d2b9db (`git show 9d2b9db:common/migrations/<file>`); scripts/compare_migration_chains.py proves that
-- both build the same database (pg_dump of the schema and of the seed data identical). Each object is here once,
-- in its final definition; the chain's data repairs (UPDATEs of rows that older code wrote) are left out: a fresh
-- database has no such rows, and a database that ran the chain has run them.
--
-- common/migrate.py applies this file to a fresh database, takes a database that applied the whole chain as at
-- this baseline (its record rows become this file's one row; nothing runs), and refuses a database that applied
-- only part of the chain: upgrade it with a release up to commit 9d2b9db first. Later changes are new files
-- (0162_...), never edits here: the runner refuses an applied file whose checksum changed.
--
-- It runs on a plain PostgreSQL with pgvector and on Supabase, where the role `authenticated`, its grant to the
-- login role and the extension may exist already: the DO blocks and IF NOT EXISTS below create only what is
-- missing.
--
-- Sections: foundation (roles, tenancy, catalogue, stock, row-level security), purchasing, logistics and
-- notifications, forecasting, risk, copilot, integrations.

-- ==================================================================================================================
-- Foundation: roles, tenants and members, claims, the catalogue, the stock ledger, reservations, row-level security
-- ==================================================================================================================

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

-- A warehouse's time zone (IANA name, as a member profile's): demand is counted per day and week in the
-- warehouse's own calendar, not UTC's. Until now an issue at 19:00 in Los Angeles (03:00 UTC the next day)
-- counted on the next day's bar, smearing the weekday profile the forecasts learn from.
-- The check keeps out a name the database cannot convert to (the API checks
-- the IANA list first; this stops one written by SQL from breaking every forecast of its tenant).
CREATE FUNCTION app.is_time_zone(name text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;
GRANT EXECUTE ON FUNCTION app.is_time_zone(text) TO authenticated;

-- Lot/batch tracking: receipts of a lot-tracked product must name a lot.

-- A product's unit cost keeps its currency. Until now the figure had none, and an order in any currency copied
-- it as a price in that currency: a product costing 2.50 (EUR) became a line at 2.50 JPY. The API's default
-- currency is EUR (as for orders), so costs stored so far are EUR; an ERP sync now writes the mapping's
-- default_currency (the ERP company's currency), or NULL where the mapping has none: a cost whose currency is
-- unknown prices no order.
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
    lot_tracked          boolean NOT NULL DEFAULT false,
    unit_cost_currency   char(3) DEFAULT 'EUR' CHECK (unit_cost_currency ~ '^[A-Z]{3}$'),
    UNIQUE (tenant_id, sku),
    UNIQUE (tenant_id, id)
);

-- The currency a supplier invoices in (Odoo's supplier currency, ERPNext's supplier default currency): orders to
-- it default to it, so a draft to a Japanese supplier is in JPY without the buyer saying so, and its prices
-- come from its JPY history (inventory/pricing.py). NULL: orders default to EUR, as before.

-- A supplier's name as the copilot finds it in a question (copilot/mentions.py): every character Python's \s
-- matches is a plain space (PostgreSQL's \s leaves out the no-break spaces U+00A0, U+2007 and U+202F, U+0085 and
-- U+001C-U+001F), trimmed, without its legal form, in lower case; NULL when nothing is left. Until now each question
-- computed this for every active supplier (three regular expressions a row, 50,000 suppliers 200-400 ms inside the
-- question's transaction) and, with PostgreSQL's \s, did not take "GmbH" off "Global Trading<U+00A0>GmbH", so
-- "How risky is Global Trading?" found no supplier. The legal-form pattern is
-- copilot.mentions._LEGAL_FORM's, character for character (tests/copilot/test_mentions.py holds them equal).
-- No index: the question is the haystack (strpos(question, name_key)), which no index serves; a stored key makes
-- the per-row test one strpos.
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
    currency            char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    name_key            text GENERATED ALWAYS AS (
    NULLIF(lower(btrim(regexp_replace(
        btrim(regexp_replace(name, '[\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]', ' ', 'g')),
        '[\s,]+(?:ltd|limited|inc|llc|gmbh|ag|sa|s\.a|bv|b\.v|nv|plc|co|corp|corporation|company|srl|spa|oy|ab|kg)\.?$',
        '', 'i'))), '')
) STORED,
    UNIQUE (tenant_id, code),
    UNIQUE (tenant_id, id)
);

-- When a warehouse's time zone last changed. A champion forecast stored before the change was computed on the
-- old calendar's days (UTC's, for a warehouse given its zone after 0120), and the API served it as fresh until
-- the next batch run: `fresh_stored_forecast` now refits instead when the zone changed after the run began.

-- A warehouse's time zone can be unknown (NULL). Until now it defaulted to 'UTC', which read as "this warehouse
-- keeps UTC", so whether an order or a shipment was late could only count from the reader's date: a planner in
-- Berlin saw an order due at a Los Angeles dock as a day late from midnight in Berlin, 15:00 of its due day in
-- Los Angeles. Counting from the warehouse's own 'UTC' date instead would have made an order due today late at
-- 16:00 in California, as it did before lateness counted from the reader's date. Now a warehouse with a zone
-- counts lateness on its own calendar and one without from the reader's; demand and delivery dates of one without
-- stay on UTC's calendar as before. A warehouse that does keep UTC is set to it.
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
    timezone        text
        CONSTRAINT warehouses_timezone_known CHECK (length(timezone) <= 64 AND app.is_time_zone(timezone)),
    timezone_changed_at timestamptz,
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
    lot_id              uuid,
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

-- Reservations expire: a hold past its expires_at stops counting against `available` when stock is read
-- (the view below), and is released for good by app.release_expired_reservations (the write paths call it
-- for the level they touch; the periodic job `python -m deployments.maintenance_job` for every tenant).
CREATE TABLE app.reservations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL,
    product_id    uuid NOT NULL,
    warehouse_id  uuid NOT NULL,
    quantity      numeric(18, 4) NOT NULL CHECK (quantity > 0),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released', 'fulfilled', 'expired')),
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

-- Idempotency keys belong to the user who sent them (one member's key can no longer replay another member's
-- response, or be refused because another member used the same key), and expire: a key older than 24 hours is
-- claimed afresh (inventory/idempotency.py), and the maintenance job deletes the old ones.
CREATE TABLE app.idempotency_keys (
    tenant_id     uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint   text NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    user_id           uuid NOT NULL,
    PRIMARY KEY (tenant_id, user_id, key)
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

-- Stock levels with the names people read (SKU, product name, unit, warehouse code). security_invoker
-- makes the view apply the caller's row-level security, not the view owner's.

-- Reads see expired holds as released even before the job runs.
CREATE VIEW app.stock_level_details WITH (security_invoker = true) AS
SELECT s.id,
       s.product_id,
       p.sku,
       p.name AS product_name,
       p.unit_of_measure,
       s.warehouse_id,
       w.code AS warehouse_code,
       s.on_hand,
       (s.reserved - coalesce(x.quantity, 0))::numeric(18, 4) AS reserved,
       (s.available + coalesce(x.quantity, 0))::numeric(18, 4) AS available,
       s.updated_at
FROM app.stock_levels s
JOIN app.products p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
JOIN app.warehouses w ON w.tenant_id = s.tenant_id AND w.id = s.warehouse_id
LEFT JOIN LATERAL (
    SELECT sum(r.quantity) AS quantity FROM app.reservations r
    WHERE r.tenant_id = s.tenant_id AND r.product_id = s.product_id AND r.warehouse_id = s.warehouse_id
      AND r.status = 'active' AND r.expires_at <= now()
) x ON true;
GRANT SELECT ON app.stock_level_details TO authenticated;
CREATE INDEX reservations_expiry_idx ON app.reservations (expires_at) WHERE status = 'active';

-- Marks the expired active holds (of one level, or all the caller can see) as expired and takes exactly their
-- quantities off `reserved`, in one statement: on hand is untouched and the ledger needs no movement, since a
-- hold never moved stock. SECURITY INVOKER: under row-level security it only reaches the caller's tenant.
CREATE FUNCTION app.release_expired_reservations(p_product uuid DEFAULT NULL, p_warehouse uuid DEFAULT NULL)
RETURNS integer LANGUAGE sql AS $$
    WITH expired AS (
        UPDATE app.reservations SET status = 'expired', updated_at = now()
        WHERE status = 'active' AND expires_at <= now()
          AND (p_product IS NULL OR product_id = p_product)
          AND (p_warehouse IS NULL OR warehouse_id = p_warehouse)
        RETURNING tenant_id, product_id, warehouse_id, quantity
    ), held AS (
        SELECT tenant_id, product_id, warehouse_id, sum(quantity) AS quantity, count(*) AS holds
        FROM expired GROUP BY tenant_id, product_id, warehouse_id
    ), released AS (
        UPDATE app.stock_levels s SET reserved = s.reserved - held.quantity, updated_at = now()
        FROM held
        WHERE s.tenant_id = held.tenant_id AND s.product_id = held.product_id AND s.warehouse_id = held.warehouse_id
        RETURNING held.holds
    )
    SELECT coalesce(sum(holds), 0)::integer FROM released
$$;
GRANT EXECUTE ON FUNCTION app.release_expired_reservations(uuid, uuid) TO authenticated;
CREATE INDEX idempotency_keys_created_idx ON app.idempotency_keys (created_at);

-- A hold past its expiry stopped counting against stock at read time (0090), but the reservation itself still
-- read as "active" until the release job or the next write on its level ran: GET /reservations?status=active and
-- the copilot's "active reservations" listed holds that no longer held anything. Reads now go through this view,
-- where such a hold is "expired", as the job will record it.
CREATE VIEW app.reservation_details WITH (security_invoker = true) AS
SELECT r.id, r.tenant_id, r.product_id, r.warehouse_id, r.quantity,
       CASE WHEN r.status = 'active' AND r.expires_at <= now() THEN 'expired' ELSE r.status END AS status,
       r.reference, r.expires_at, r.created_by, r.created_at, r.updated_at
FROM app.reservations r;
GRANT SELECT ON app.reservation_details TO authenticated;

CREATE FUNCTION app.stamp_warehouse_zone_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.timezone_changed_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER warehouses_stamp_zone_change BEFORE UPDATE OF timezone ON app.warehouses
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION app.stamp_warehouse_zone_change();

-- The date it is now at a warehouse, on its own calendar; ``fallback`` (the reader's date) where its zone is not
-- known. The one rule behind days late, days overdue, stock-out days and reorder proposals' expected dates
-- (0120), which four queries had each spelled out.
CREATE FUNCTION app.warehouse_today(zone text, fallback date) RETURNS date
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce((now() AT TIME ZONE zone)::date, fallback)
$$;
GRANT EXECUTE ON FUNCTION app.warehouse_today(text, date) TO authenticated;

-- A level's on_hand is the sum of its ledger: only the ledger's trigger (app.apply_stock_movement) writes it.
-- Until now the request role's INSERT and UPDATE grants on app.stock_levels (0001) reached every column and
-- row-level security checks only the tenant, so `UPDATE app.stock_levels SET on_hand = 1000`, a level inserted
-- with stock, or one moved to another warehouse was read as stock no movement accounts for.
--
-- A trigger rather than column grants: the ledger's trigger runs as the caller (SECURITY INVOKER, under the
-- caller's row-level security), so the request role needs INSERT and UPDATE of on_hand for a movement to land.
-- `reserved` stays writable: reservations change it with their own UPDATE (inventory/reservations.py and
-- app.release_expired_reservations), not from a trigger.
CREATE FUNCTION app.refuse_level_write_outside_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Depth 1 is a statement on app.stock_levels itself; the ledger's AFTER INSERT trigger, the one trigger of
    -- the schema that writes levels, runs its INSERT and UPDATE at depth 2.
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.tenant_id, NEW.product_id, NEW.warehouse_id)
                            IS DISTINCT FROM (OLD.tenant_id, OLD.product_id, OLD.warehouse_id) THEN
        RAISE EXCEPTION 'a stock level stays on its product and warehouse: post a transfer or stock movements'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (TG_OP = 'INSERT' AND NEW.on_hand <> 0)
       OR (TG_OP = 'UPDATE' AND NEW.on_hand IS DISTINCT FROM OLD.on_hand) THEN
        RAISE EXCEPTION 'stock_levels.on_hand is written by the ledger only: post a stock movement'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER stock_levels_written_by_the_ledger BEFORE INSERT OR UPDATE ON app.stock_levels
    FOR EACH ROW EXECUTE FUNCTION app.refuse_level_write_outside_ledger();

-- ==================================================================================================================
-- Purchasing
-- ==================================================================================================================

-- Purchasing: units of measure with conversions, lot-tracked products, purchase orders with lines,
-- receipts that write the stock ledger, and reorder rules.
--
-- Every tenant table follows the foundation's pattern: tenant_id, ENABLE + FORCE row-level security,
-- tenant_read / tenant_insert / tenant_update policies, composite (tenant_id, id) foreign keys.

-- Units every tenant shares (not tenant data: no row-level security). `ratio` is how many of the
-- category's reference unit one of this unit holds (Odoo's uom.uom factor, inverted): 1 dozen = 12 each.
CREATE TABLE app.units_of_measure (
    code      text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    category  text NOT NULL,
    ratio     numeric(24, 12) NOT NULL CHECK (ratio > 0),
    name      text NOT NULL
);
INSERT INTO app.units_of_measure (code, category, ratio, name) VALUES
    ('each', 'unit', 1, 'Each'),
    ('pair', 'unit', 2, 'Pair'),
    ('dozen', 'unit', 12, 'Dozen'),
    ('hundred', 'unit', 100, 'Hundred'),
    ('thousand', 'unit', 1000, 'Thousand'),
    ('kg', 'weight', 1, 'Kilogram'),
    ('g', 'weight', 0.001, 'Gram'),
    ('t', 'weight', 1000, 'Tonne'),
    ('lb', 'weight', 0.45359237, 'Pound'),
    ('oz', 'weight', 0.028349523125, 'Ounce'),
    ('l', 'volume', 1, 'Litre'),
    ('ml', 'volume', 0.001, 'Millilitre'),
    ('m3', 'volume', 1000, 'Cubic metre'),
    ('gal_us', 'volume', 3.785411784, 'US gallon'),
    ('m', 'length', 1, 'Metre'),
    ('cm', 'length', 0.01, 'Centimetre'),
    ('mm', 'length', 0.001, 'Millimetre'),
    ('km', 'length', 1000, 'Kilometre'),
    ('ft', 'length', 0.3048, 'Foot'),
    ('in', 'length', 0.0254, 'Inch');
GRANT SELECT ON app.units_of_measure TO authenticated;

-- Packaging units particular to one product (ERPNext's item UOM conversion): 1 `uom` = `factor` of the
-- product's own unit, e.g. 1 box = 50 each for one bolt, 1 box = 200 each for another.
CREATE TABLE app.product_uom_conversions (
    tenant_id   uuid NOT NULL,
    product_id  uuid NOT NULL,
    uom         text NOT NULL CHECK (uom ~ '^[a-z][a-z0-9_]*$' AND length(uom) <= 16),
    factor      numeric(18, 6) NOT NULL CHECK (factor > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, product_id, uom),
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE app.stock_lots (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    product_id   uuid NOT NULL,
    lot_number   text NOT NULL CHECK (length(lot_number) BETWEEN 1 AND 64),
    expiry_date  date,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, product_id, lot_number),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id)
);
ALTER TABLE app.stock_movements
    ADD CONSTRAINT stock_movements_lot_fk FOREIGN KEY (tenant_id, lot_id) REFERENCES app.stock_lots (tenant_id, id);

-- Purchase orders. Their numbers once came from this sequence; app.tenant_counters numbers them per tenant
-- now (logistics section), and the sequence stays only as part of the schema the chain built.
CREATE SEQUENCE app.purchase_order_number_seq;
GRANT USAGE ON SEQUENCE app.purchase_order_number_seq TO authenticated;

CREATE TABLE app.purchase_orders (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    number                      text NOT NULL,
    supplier_id                 uuid NOT NULL,
    warehouse_id                uuid NOT NULL,
    currency                    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    expected_date               date,
    incoterm                    text CHECK (incoterm IN ('EXW', 'FCA', 'CPT', 'CIP', 'DAP', 'DPU', 'DDP',
                                                         'FAS', 'FOB', 'CFR', 'CIF')),
    status                      text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'issued', 'partially_received', 'received', 'cancelled')),
    over_receipt_tolerance_pct  numeric(6, 2) NOT NULL DEFAULT 0
        CHECK (over_receipt_tolerance_pct BETWEEN 0 AND 100),
    origin                      text,
    notes                       text CHECK (length(notes) <= 2000),
    created_by                  uuid,
    issued_at                   timestamptz,
    received_at                 timestamptz,
    cancelled_at                timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id)
);
CREATE INDEX purchase_orders_created_idx ON app.purchase_orders (tenant_id, created_at, id);
CREATE INDEX purchase_orders_status_idx ON app.purchase_orders (tenant_id, status);

-- The state machine, enforced by the database as a backstop to the domain code.
CREATE FUNCTION app.check_purchase_order_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = OLD.status THEN
        RETURN NEW;
    END IF;
    IF NOT (
        (OLD.status = 'draft' AND NEW.status IN ('issued', 'cancelled'))
        OR (OLD.status = 'issued' AND NEW.status IN ('partially_received', 'received', 'cancelled'))
        OR (OLD.status = 'partially_received' AND NEW.status = 'received')
    ) THEN
        RAISE EXCEPTION 'illegal purchase order transition % -> %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'purchase_order_transition';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER purchase_orders_transition BEFORE UPDATE OF status ON app.purchase_orders
    FOR EACH ROW EXECUTE FUNCTION app.check_purchase_order_transition();

-- Quantities are kept in the line's unit (what the supplier sells) and in the product's unit (what the
-- ledger counts); receipts and write-offs are counted in the product's unit.

-- Lines an ERP receives have no receipt of Chainsight's (the ERP holds the goods-receipt documents; stock comes
-- from its stock sync), so the delivery history read a fully received ERP line as still open: late for ever once
-- its promised date passed, in its supplier's on-time rate and overdue count and in the training labels. A sync
-- now stamps the moment it finds a line's received quantity grown (erp_received_at: the receipt happened since
-- the sync before), which serves as the delivery date where no receipt of Chainsight's gives one; a line an ERP
-- had received before any sync saw it is left out, its delivery date unknown.

-- A line's first receipt in an ERP, beside its last (erp_received_at, 0136). A sync stamps erp_received_at each
-- time it finds the line's received quantity grown, so a line received in two parts read its completing sync's
-- time, and the supplier's lead time counted from it (overstated, and longer once the order completed). The
-- delivery history still dates a line by its last stamp; the lead time reads this one, set once, by the sync
-- that first finds the received quantity above 0.
CREATE TABLE app.purchase_order_lines (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL,
    purchase_order_id  uuid NOT NULL,
    line_no            integer NOT NULL CHECK (line_no > 0),
    product_id         uuid NOT NULL,
    quantity           numeric(18, 4) NOT NULL CHECK (quantity > 0),
    uom                text NOT NULL,
    uom_factor         numeric(24, 12) NOT NULL CHECK (uom_factor > 0),
    quantity_base      numeric(18, 4) NOT NULL CHECK (quantity_base > 0),
    unit_price         numeric(14, 4) NOT NULL CHECK (unit_price >= 0),
    received_base      numeric(18, 4) NOT NULL DEFAULT 0 CHECK (received_base >= 0),
    cancelled_base     numeric(18, 4) NOT NULL DEFAULT 0 CHECK (cancelled_base >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    erp_received_at        timestamptz,
    erp_first_received_at  timestamptz,
    UNIQUE (purchase_order_id, line_no),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, purchase_order_id) REFERENCES app.purchase_orders (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id)
);
CREATE INDEX purchase_order_lines_product_idx ON app.purchase_order_lines (tenant_id, product_id);

CREATE TABLE app.purchase_receipts (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL,
    purchase_order_id  uuid NOT NULL,
    reference          text,
    backorder_closed   boolean NOT NULL DEFAULT false,
    received_at        timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, purchase_order_id) REFERENCES app.purchase_orders (tenant_id, id)
);
CREATE INDEX purchase_receipts_order_idx ON app.purchase_receipts (tenant_id, purchase_order_id, received_at);

CREATE TABLE app.purchase_receipt_lines (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id               uuid NOT NULL,
    receipt_id              uuid NOT NULL,
    purchase_order_line_id  uuid NOT NULL,
    quantity                numeric(18, 4) NOT NULL CHECK (quantity > 0),
    quantity_base           numeric(18, 4) NOT NULL CHECK (quantity_base > 0),
    lot_id                  uuid,
    movement_id             uuid NOT NULL REFERENCES app.stock_movements (id),
    FOREIGN KEY (tenant_id, receipt_id) REFERENCES app.purchase_receipts (tenant_id, id),
    FOREIGN KEY (tenant_id, purchase_order_line_id) REFERENCES app.purchase_order_lines (tenant_id, id),
    FOREIGN KEY (tenant_id, lot_id) REFERENCES app.stock_lots (tenant_id, id)
);
CREATE INDEX purchase_receipt_lines_receipt_idx ON app.purchase_receipt_lines (tenant_id, receipt_id);

-- Reorder rules (Odoo's orderpoints, ERPNext's item reorder levels): when projected stock falls below
-- `min_quantity`, order up to max(min, max), rounded up to `order_multiple`.
CREATE TABLE app.reorder_rules (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    product_id      uuid NOT NULL,
    warehouse_id    uuid NOT NULL,
    supplier_id     uuid NOT NULL,
    min_quantity    numeric(18, 4) NOT NULL CHECK (min_quantity >= 0),
    max_quantity    numeric(18, 4) NOT NULL CHECK (max_quantity >= 0),
    order_multiple  numeric(18, 4) NOT NULL DEFAULT 1 CHECK (order_multiple >= 0),
    lead_time_days  integer CHECK (lead_time_days BETWEEN 0 AND 3650),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, product_id, warehouse_id),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id)
);
CREATE INDEX reorder_rules_created_idx ON app.reorder_rules (tenant_id, created_at, id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['product_uom_conversions', 'stock_lots', 'purchase_orders', 'purchase_order_lines',
                             'purchase_receipts', 'purchase_receipt_lines', 'reorder_rules']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_read ON app.%I FOR SELECT TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_insert ON app.%I FOR INSERT TO authenticated
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['product_uom_conversions', 'purchase_orders', 'purchase_order_lines', 'reorder_rules']
    LOOP
        EXECUTE format($p$CREATE POLICY tenant_update ON app.%I FOR UPDATE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_delete ON app.%I FOR DELETE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.product_uom_conversions, app.purchase_orders, app.purchase_order_lines,
    app.reorder_rules TO authenticated;

-- Lots and receipts are history: insert and read only.
GRANT SELECT, INSERT ON app.stock_lots, app.purchase_receipts, app.purchase_receipt_lines TO authenticated;

-- Headers with the names people read and the order total (in the order's currency), for lists and exports.
CREATE VIEW app.purchase_order_summaries WITH (security_invoker = true) AS
SELECT po.id,
       po.number,
       po.status,
       po.supplier_id,
       s.code AS supplier_code,
       po.warehouse_id,
       w.code AS warehouse_code,
       po.currency,
       po.expected_date,
       po.incoterm,
       po.over_receipt_tolerance_pct,
       po.origin,
       po.notes,
       count(l.id)::integer AS line_count,
       coalesce(sum(l.quantity * l.unit_price), 0)::numeric(18, 4) AS total_amount,
       po.created_by,
       po.issued_at,
       po.received_at,
       po.cancelled_at,
       po.created_at,
       po.updated_at
FROM app.purchase_orders po
JOIN app.suppliers s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
LEFT JOIN app.purchase_order_lines l ON l.tenant_id = po.tenant_id AND l.purchase_order_id = po.id
GROUP BY po.id, s.code, w.code;
GRANT SELECT ON app.purchase_order_summaries TO authenticated;

-- Deactivating a product, warehouse or supplier deactivates the reorder rules that name it, as Odoo archives a
-- product's reordering rules with it. Such a rule proposes nothing (inventory.reorder.proposals leaves out
-- inactive products, warehouses and suppliers), but the low-stock notification (app.announce_stock_movements)
-- reads only the rule's own flag, so a discontinued product kept notifying. A trigger, so that ERP syncs that
-- deactivate records do the same as the API. Reactivating leaves the rules off: turn each back on
-- (PATCH /reorder-rules/{id}) where it still applies.
CREATE FUNCTION app.deactivate_reorder_rules() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE app.reorder_rules r SET active = false, updated_at = now()
    WHERE r.tenant_id = NEW.tenant_id AND r.active
      AND NEW.id = CASE TG_TABLE_NAME WHEN 'products' THEN r.product_id
                                      WHEN 'warehouses' THEN r.warehouse_id
                                      ELSE r.supplier_id END;
    RETURN NULL;
END
$$;
CREATE TRIGGER products_deactivate_reorder_rules AFTER UPDATE OF active ON app.products
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active) EXECUTE FUNCTION app.deactivate_reorder_rules();
CREATE TRIGGER warehouses_deactivate_reorder_rules AFTER UPDATE OF active ON app.warehouses
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active) EXECUTE FUNCTION app.deactivate_reorder_rules();
CREATE TRIGGER suppliers_deactivate_reorder_rules AFTER UPDATE OF active ON app.suppliers
    FOR EACH ROW WHEN (OLD.active AND NOT NEW.active) EXECUTE FUNCTION app.deactivate_reorder_rules();

-- A draft that cannot be issued as it stands (its supplier, warehouse or a product on it inactive) is not incoming
-- (0149), yet the low-stock alerts still weighed each of its lines as projected stock lost when it was cancelled,
-- removed, reduced or moved to another warehouse: app.alert_low_stock took the level before to be projected + its
-- open quantity, a level that never existed, and sent a second identical notification for stock already below its
-- minimum. 0149's rule is now one function, app.draft_counts, read by app.incoming_quantity and by the three
-- triggers for an order that was a draft before the change, so a draft that was not counted passes no change.
-- The supplier and warehouse are given (the moved-order trigger weighs the warehouse the order had), the products
-- are those of the order's lines. SECURITY INVOKER as app.incoming_quantity: row-level security keeps it in the
-- caller's tenant. As in 0117, 0142, 0147 and 0149 otherwise.

-- app.draft_counts (0153) carried SET search_path, which keeps PostgreSQL from inlining a SQL function: it ran as a
-- separate call for every draft line app.incoming_quantity reads, planned blind. On tables not yet analysed (a
-- tenant's first hundreds of orders) one incoming_quantity over 300 drafts of 3 lines took 13.3 s, inside the
-- low-stock triggers of every order write; inlined it takes 7.8 ms (4.3 ms either way once analysed). Every name
-- in it is schema-qualified and it runs with the caller's rights, so it needs no search_path of its own.
CREATE FUNCTION app.draft_counts(tenant uuid, purchase_order uuid, supplier uuid, warehouse uuid)
    RETURNS boolean
    LANGUAGE sql STABLE SECURITY INVOKER
AS $$
    SELECT NOT EXISTS (
        SELECT FROM app.suppliers s WHERE s.id = supplier AND NOT s.active
        UNION ALL
        SELECT FROM app.warehouses w WHERE w.id = warehouse AND NOT w.active
        UNION ALL
        SELECT FROM app.purchase_order_lines o JOIN app.products p ON p.id = o.product_id
        WHERE o.tenant_id = tenant AND o.purchase_order_id = purchase_order AND NOT p.active)
$$;
GRANT EXECUTE ON FUNCTION app.draft_counts(uuid, uuid, uuid, uuid) TO authenticated;

-- The low-stock notification compared on-hand stock with a reorder rule's minimum, while the rule itself (the
-- reorder proposals, inventory/reorder.py, as Odoo's orderpoints and ERPNext's projected quantity) compares
-- projected stock: on hand + incoming (open purchase orders, drafts included) - reserved. So a buyer was told
-- "below its minimum" for stock already on order, and never for stock that reservations took. Now the
-- notification fires when projected stock crosses below the minimum: through stock movements (a movement that
-- fulfils a reservation changes nothing: the hold it releases was already counted), through a new or larger
-- reservation, and through a cancelled purchase order. One definition of incoming serves the triggers and the
-- Python reads (app.incoming_quantity).
CREATE FUNCTION app.incoming_quantity(tenant uuid, product uuid, warehouse uuid) RETURNS numeric
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(sum(greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)), 0)
    FROM app.purchase_order_lines l
    JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
    WHERE l.tenant_id = tenant AND l.product_id = product AND po.warehouse_id = warehouse
      AND po.status IN ('draft', 'issued', 'partially_received')
      AND (po.status <> 'draft' OR app.draft_counts(po.tenant_id, po.id, po.supplier_id, po.warehouse_id))
$$;
GRANT EXECUTE ON FUNCTION app.incoming_quantity(uuid, uuid, uuid) TO authenticated;

-- One notification per active rule whose location's projected stock was at or above the minimum before the
-- given changes (signed quantities by which they lowered or raised projected stock) and is below it after.
-- Called through app.alert_low_stock (below), which first takes the locations' locks.
CREATE FUNCTION app.alert_low_stock_unlocked(tenants uuid[], products uuid[], warehouses uuid[], changes numeric[])
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    alert record;
BEGIN
    FOR alert IN
        WITH changed AS (
            SELECT c.tenant_id, c.product_id, c.warehouse_id, sum(c.change) AS change
            FROM unnest(tenants, products, warehouses, changes) AS c (tenant_id, product_id, warehouse_id, change)
            GROUP BY c.tenant_id, c.product_id, c.warehouse_id
            HAVING sum(c.change) < 0
        ), located AS (
            SELECT c.*, p.sku, w.code AS warehouse_code, r.min_quantity,
                   coalesce(lv.on_hand, 0) AS on_hand, coalesce(lv.reserved, 0) AS reserved,
                   app.incoming_quantity(c.tenant_id, c.product_id, c.warehouse_id) AS incoming
            FROM changed c
            JOIN app.reorder_rules r
              ON r.tenant_id = c.tenant_id AND r.product_id = c.product_id AND r.warehouse_id = c.warehouse_id
             AND r.active
            JOIN app.products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id
            JOIN app.warehouses w ON w.tenant_id = c.tenant_id AND w.id = c.warehouse_id
            -- The details view: a hold past its expiry is not reserved any more (ids are unique across tenants).
            LEFT JOIN app.stock_level_details lv ON lv.product_id = c.product_id AND lv.warehouse_id = c.warehouse_id
        )
        SELECT *, on_hand + incoming - reserved AS projected FROM located
    LOOP
        CONTINUE WHEN NOT (alert.projected < alert.min_quantity
                           AND alert.projected - alert.change >= alert.min_quantity);
        INSERT INTO app.notifications (tenant_id, kind, title, data)
        VALUES (alert.tenant_id, 'low_stock',
                format('%s in %s is below its minimum: projected %s < %s (on hand %s, reserved %s, incoming %s)',
                       alert.sku, alert.warehouse_code, alert.projected::float8, alert.min_quantity::float8,
                       alert.on_hand::float8, alert.reserved::float8, alert.incoming::float8),
                jsonb_build_object('product_id', alert.product_id, 'warehouse_id', alert.warehouse_id,
                                   'projected', alert.projected, 'on_hand', alert.on_hand,
                                   'reserved', alert.reserved, 'incoming', alert.incoming,
                                   'min_quantity', alert.min_quantity));
        PERFORM pg_notify('chainsight_events', jsonb_build_object(
            'tenant_id', alert.tenant_id, 'type', 'alert', 'at', now(),
            'data', jsonb_build_object('kind', 'low_stock', 'product_id', alert.product_id,
                                       'warehouse_id', alert.warehouse_id, 'sku', alert.sku,
                                       'projected', alert.projected, 'on_hand', alert.on_hand,
                                       'min_quantity', alert.min_quantity))::text);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION app.alert_low_stock_unlocked(uuid[], uuid[], uuid[], numeric[]) TO authenticated;

CREATE FUNCTION app.alert_reserved_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(ARRAY[NEW.tenant_id], ARRAY[NEW.product_id], ARRAY[NEW.warehouse_id],
                                ARRAY[OLD.reserved - NEW.reserved]);
    RETURN NULL;
END
$$;
CREATE TRIGGER stock_levels_reserved_alert AFTER UPDATE OF reserved ON app.stock_levels
    FOR EACH ROW WHEN (NEW.reserved > OLD.reserved) EXECUTE FUNCTION app.alert_reserved_stock();

CREATE FUNCTION app.alert_cancelled_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(NEW.warehouse_id),
                                array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
    FROM app.purchase_order_lines l
    WHERE l.tenant_id = NEW.tenant_id AND l.purchase_order_id = NEW.id
      AND (OLD.status <> 'draft' OR app.draft_counts(OLD.tenant_id, OLD.id, OLD.supplier_id, OLD.warehouse_id));
    RETURN NULL;
END
$$;
CREATE TRIGGER purchase_orders_cancelled_alert AFTER UPDATE OF status ON app.purchase_orders
    FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status <> 'cancelled')
    EXECUTE FUNCTION app.alert_cancelled_order();

-- A product's unit is what its ledger and levels, order lines, reservations and reorder rules count in: a new
-- unit would relabel them all (100 each read as 100 kg, a line of 2 dozen as 24 kg). Refused once anything
-- counts in it, as Odoo refuses once a stock move is done; a product with nothing yet may still change it.

-- A product's packaging units (product_uom_conversions: 1 box = 50 of its unit) count in its unit too: a change
-- from each to kg made the box 50 kg. And a first receipt, order line or reservation still in flight when the
-- change was checked slipped past it (it holds only a KEY SHARE lock on the product, which the change's row lock
-- does not wait for): the change now takes the row FOR UPDATE first, waiting for them, and then looks.
CREATE FUNCTION app.refuse_unit_change_in_use() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    counted text;
    found boolean;
BEGIN
    PERFORM 1 FROM app.products WHERE id = NEW.id FOR UPDATE;
    FOREACH counted IN ARRAY ARRAY['stock_movements', 'purchase_order_lines', 'shipment_lines', 'reservations',
                                   'reorder_rules', 'product_uom_conversions'] LOOP
        EXECUTE format('SELECT EXISTS (SELECT FROM app.%I WHERE tenant_id = $1 AND product_id = $2)', counted)
            INTO found USING NEW.tenant_id, NEW.id;
        IF found THEN
            RAISE EXCEPTION 'product % has % counted in %: its unit stays',
                NEW.sku, replace(replace(counted, 'product_uom_conversions', 'packaging units'), '_', ' '),
                OLD.unit_of_measure
                USING ERRCODE = 'check_violation', CONSTRAINT = 'products_unit_in_use';
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;
CREATE TRIGGER products_unit_in_use BEFORE UPDATE OF unit_of_measure ON app.products
    FOR EACH ROW WHEN (NEW.unit_of_measure IS DISTINCT FROM OLD.unit_of_measure)
    EXECUTE FUNCTION app.refuse_unit_change_in_use();

-- Projected stock also falls when an open order will bring less: its backorder is closed, a line's quantity is
-- lowered, or a line is removed. Those raise the low-stock notification too (0117 covered movements,
-- reservations and cancelled orders). Only the change the statement made to quantity and cancellation counts:
-- a receipt moves stock from incoming to on hand and changes nothing projected.

-- The lost-incoming low-stock alert (0119) per statement, not per line. Row triggers fire after the statement
-- and each reads the stock the whole statement left: closing the backorder of an order with two lines of one
-- product made both triggers see the crossing (two notifications), or, with each line's own change alone,
-- neither. One call with every changed line lets app.alert_low_stock sum the changes per product and warehouse.
-- Transition tables cannot be limited to columns, so the update trigger compares the lines itself.
CREATE FUNCTION app.alert_lost_incoming_lines() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(po.warehouse_id),
                                    array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
        FROM old_lines l
        JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
        WHERE po.status IN ('draft', 'issued', 'partially_received')
          AND (po.status <> 'draft' OR app.draft_counts(po.tenant_id, po.id, po.supplier_id, po.warehouse_id));
    ELSE
        -- What the statement did to product, quantity and cancellation, and to receipts the ERP recorded.
        PERFORM app.alert_low_stock(array_agg(c.tenant_id), array_agg(s.product_id), array_agg(c.warehouse_id),
                                    array_agg(s.change))
        FROM (
            SELECT n.tenant_id, po.warehouse_id, o.product_id AS product_before, n.product_id AS product_after,
                   greatest(o.quantity_base - o.received_base - o.cancelled_base, 0) AS open_before,
                   greatest(n.quantity_base - n.cancelled_base
                            - CASE WHEN n.erp_received_at IS DISTINCT FROM o.erp_received_at THEN n.received_base
                                   ELSE o.received_base END, 0) AS open_after
            FROM old_lines o
            JOIN new_lines n ON n.tenant_id = o.tenant_id AND n.id = o.id
            JOIN app.purchase_orders po ON po.tenant_id = n.tenant_id AND po.id = n.purchase_order_id
            WHERE po.status IN ('draft', 'issued', 'partially_received')
              AND (po.status <> 'draft' OR app.draft_counts(po.tenant_id, po.id, po.supplier_id, po.warehouse_id))
              AND (n.product_id <> o.product_id
                   OR n.quantity_base < o.quantity_base OR n.cancelled_base > o.cancelled_base
                   OR (n.received_base > o.received_base AND n.erp_received_at IS DISTINCT FROM o.erp_received_at))
        ) c
        CROSS JOIN LATERAL (VALUES (c.product_before, -c.open_before), (c.product_after, c.open_after))
            AS s (product_id, change);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER purchase_order_lines_lost_incoming_alert AFTER UPDATE ON app.purchase_order_lines
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION app.alert_lost_incoming_lines();
CREATE TRIGGER purchase_order_lines_removed_alert AFTER DELETE ON app.purchase_order_lines
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION app.alert_lost_incoming_lines();

-- Two writers changing one location's projected stock at once (an issue and the cancel of an order bringing the
-- product there) each tested the crossing below the minimum on its own snapshot, without the other's change:
-- 30 -> 27 and 30 -> 20 never cross 19, so neither notified, and the 17 they left was never reported. The alert
-- now takes a transaction lock per location with an active rule before it reads, so the second writer waits for
-- the first to commit and reads what it left (a statement inside a function reads a fresh snapshot). The keys
-- are taken in one sorted pass, so two writers of several locations cannot wait on each other in a circle.
CREATE FUNCTION app.alert_low_stock(tenants uuid[], products uuid[], warehouses uuid[], changes numeric[])
    RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(keys.key)
    FROM (SELECT DISTINCT hashtextextended(format('low-stock:%s:%s:%s', c.tenant_id, c.product_id, c.warehouse_id), 0)
                 AS key
          FROM unnest(tenants, products, warehouses) AS c (tenant_id, product_id, warehouse_id)
          JOIN app.reorder_rules r
            ON r.tenant_id = c.tenant_id AND r.product_id = c.product_id AND r.warehouse_id = c.warehouse_id
           AND r.active
          ORDER BY 1) keys;
    PERFORM app.alert_low_stock_unlocked(tenants, products, warehouses, changes);
END
$$;
GRANT EXECUTE ON FUNCTION app.alert_low_stock(uuid[], uuid[], uuid[], numeric[]) TO authenticated;

-- An open order moved to another warehouse takes what it was bringing away from the old one: projected stock
-- there falls by each line's open quantity, as when the order is cancelled (0117), yet no notification came, so
-- a draft that covered a rule's minimum could be moved away in silence. The old warehouse's lines now go to
-- app.alert_low_stock, once per statement over its transition tables as the lost-incoming alert does (0135), so
-- the location locks of several moved orders are taken in one sorted pass (0137). The new warehouse only gains.
-- Transition tables cannot be limited to columns, so the trigger compares the warehouses itself; the status is
-- the one before the statement, the one under which the old warehouse expected the lines.
CREATE FUNCTION app.alert_moved_orders() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(o.warehouse_id),
                                array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
    FROM old_orders o
    JOIN new_orders n ON n.tenant_id = o.tenant_id AND n.id = o.id
    JOIN app.purchase_order_lines l ON l.tenant_id = o.tenant_id AND l.purchase_order_id = o.id
    WHERE n.warehouse_id IS DISTINCT FROM o.warehouse_id
      AND o.status IN ('draft', 'issued', 'partially_received')
      AND (o.status <> 'draft' OR app.draft_counts(o.tenant_id, o.id, o.supplier_id, o.warehouse_id));
    RETURN NULL;
END
$$;
CREATE TRIGGER purchase_orders_moved_alert AFTER UPDATE ON app.purchase_orders
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION app.alert_moved_orders();

-- A lot first received without its expiry takes the one a later receipt of it names; a recorded expiry stays
-- as it is (a different one is still refused, 409 lot_expiry_mismatch). Until now lots were insert-only, so such
-- a lot could never get its expiry: every later receipt naming one was refused ("recorded with expiry None").
GRANT UPDATE (expiry_date) ON app.stock_lots TO authenticated;
CREATE POLICY tenant_fill_expiry ON app.stock_lots FOR UPDATE TO authenticated
    USING (tenant_id = (SELECT app.writable_tenant_id()) AND expiry_date IS NULL)
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));

-- ==================================================================================================================
-- Logistics and notifications
-- ==================================================================================================================

-- Logistics: shipments with tracking timelines, member profiles, notifications, and the real-time events
-- PostgreSQL publishes (NOTIFY on channel `chainsight_events`, delivered on commit to every replica).

-- Shipment numbers once came from this sequence; app.tenant_counters numbers them per tenant now (below).
CREATE SEQUENCE app.shipment_number_seq;
GRANT USAGE ON SEQUENCE app.shipment_number_seq TO authenticated;

CREATE TABLE app.shipments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    number             text NOT NULL,
    direction          text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    status             text NOT NULL DEFAULT 'created'
        CHECK (status IN ('created', 'picked_up', 'in_transit', 'delayed', 'delivered', 'exception')),
    warehouse_id       uuid NOT NULL,
    purchase_order_id  uuid,
    order_reference    text CHECK (length(order_reference) <= 200),
    carrier            text NOT NULL CHECK (length(carrier) BETWEEN 1 AND 64),
    tracking_number    text NOT NULL CHECK (length(tracking_number) BETWEEN 1 AND 100),
    expected_delivery  date,
    delivered_at       timestamptz,
    stock_issued_at    timestamptz,
    created_by         uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, carrier, tracking_number),
    UNIQUE (tenant_id, id),
    CHECK (direction = 'inbound' OR purchase_order_id IS NULL),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES app.warehouses (tenant_id, id),
    FOREIGN KEY (tenant_id, purchase_order_id) REFERENCES app.purchase_orders (tenant_id, id)
);
CREATE INDEX shipments_created_idx ON app.shipments (tenant_id, created_at, id);

CREATE TABLE app.shipment_lines (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    shipment_id  uuid NOT NULL,
    product_id   uuid NOT NULL,
    quantity     numeric(18, 4) NOT NULL CHECK (quantity > 0),
    movement_id  uuid REFERENCES app.stock_movements (id),
    FOREIGN KEY (tenant_id, shipment_id) REFERENCES app.shipments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id)
);
CREATE INDEX shipment_lines_shipment_idx ON app.shipment_lines (tenant_id, shipment_id);

-- The tracking timeline: append-only. `external_id` (the carrier's event id) makes webhook retries no-ops.
CREATE TABLE app.shipment_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id    uuid NOT NULL,
    shipment_id  uuid NOT NULL,
    event_type   text NOT NULL
        CHECK (event_type IN ('created', 'picked_up', 'in_transit', 'delayed', 'delivered', 'exception')),
    occurred_at  timestamptz NOT NULL,
    location     text CHECK (length(location) <= 200),
    description  text CHECK (length(description) <= 1000),
    external_id  text CHECK (length(external_id) BETWEEN 1 AND 200),
    source       text NOT NULL CHECK (source IN ('api', 'webhook', 'system')),
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, shipment_id, external_id),
    FOREIGN KEY (tenant_id, shipment_id) REFERENCES app.shipments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX shipment_events_timeline_idx ON app.shipment_events (tenant_id, shipment_id, occurred_at, seq);

-- What a member sets for themselves in a tenant: display name, locale, units, default warehouse,
-- notification settings.
CREATE TABLE app.member_profiles (
    tenant_id             uuid NOT NULL,
    user_id               uuid NOT NULL,
    display_name          text CHECK (length(display_name) BETWEEN 1 AND 100),
    locale                text NOT NULL DEFAULT 'en',
    timezone              text NOT NULL DEFAULT 'UTC',
    units                 text NOT NULL DEFAULT 'metric' CHECK (units IN ('metric', 'imperial')),
    default_warehouse_id  uuid,
    notifications         jsonb NOT NULL DEFAULT '{}',
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app.members (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, default_warehouse_id) REFERENCES app.warehouses (tenant_id, id) ON DELETE SET NULL (default_warehouse_id)
);

-- Notifications for the whole tenant (user_id NULL) or one member; read state is per member.
CREATE TABLE app.notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    user_id     uuid,
    kind        text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    data        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX notifications_created_idx ON app.notifications (tenant_id, created_at, id);

CREATE TABLE app.notification_reads (
    tenant_id        uuid NOT NULL,
    notification_id  uuid NOT NULL,
    user_id          uuid NOT NULL,
    read_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, notification_id, user_id),
    FOREIGN KEY (tenant_id, notification_id) REFERENCES app.notifications (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['shipments', 'shipment_lines', 'shipment_events']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_read ON app.%I FOR SELECT TO authenticated
                        USING (tenant_id = (SELECT app.current_tenant_id()))$p$, t);
        EXECUTE format($p$CREATE POLICY tenant_insert ON app.%I FOR INSERT TO authenticated
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['shipments', 'shipment_lines']
    LOOP
        EXECUTE format($p$CREATE POLICY tenant_update ON app.%I FOR UPDATE TO authenticated
                        USING (tenant_id = (SELECT app.writable_tenant_id()))
                        WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()))$p$, t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['member_profiles', 'notifications', 'notification_reads']
    LOOP
        EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

-- Profiles: every member (viewers too) reads and writes only their own; admins read all in their tenant.
CREATE POLICY profile_read ON app.member_profiles FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id())
           AND (user_id = (SELECT app.current_user_id()) OR tenant_id = (SELECT app.admin_tenant_id())));
CREATE POLICY profile_insert ON app.member_profiles FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()));
CREATE POLICY profile_update ON app.member_profiles FOR UPDATE TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()));

-- Notifications: a member sees the tenant's broadcasts and their own; writers create them.
CREATE POLICY tenant_read ON app.notifications FOR SELECT TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id())
           AND (user_id IS NULL OR user_id = (SELECT app.current_user_id())));
CREATE POLICY tenant_insert ON app.notifications FOR INSERT TO authenticated
    WITH CHECK (tenant_id = (SELECT app.writable_tenant_id()));
CREATE POLICY own_reads ON app.notification_reads FOR ALL TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()));
GRANT SELECT, INSERT, UPDATE ON app.shipments, app.shipment_lines, app.member_profiles TO authenticated;
GRANT SELECT, INSERT ON app.shipment_events, app.notifications TO authenticated;
GRANT SELECT, INSERT, DELETE ON app.notification_reads TO authenticated;

-- Stock events and low-stock alerts, once per statement (a bulk load of 100k movements sends a handful of
-- notifications, not 100k). The levels are already updated by the row trigger when this runs.

-- The stock.changed event names each level's on hand and available as GET /stock-levels does: a hold past its
-- expiry is not reserved any more (0090's details view). It read the table, which keeps such a hold until the
-- release job runs (every 5 minutes): a receipt of 5 onto 10 with an expired hold of 4 announced available 11
-- while the API said 15. As in 0117 otherwise.
CREATE FUNCTION app.announce_stock_movements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT m.tenant_id,
               count(*) AS movements,
               (SELECT coalesce(jsonb_agg(x), '[]') FROM (
                    SELECT s.product_id, s.warehouse_id, sum(s.quantity) AS change, l.on_hand, l.available
                    FROM moved s
                    -- The details view, as GET /stock-levels reads it (ids are unique across tenants).
                    JOIN app.stock_level_details l ON l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id
                    WHERE s.tenant_id = m.tenant_id
                    GROUP BY s.product_id, s.warehouse_id, l.on_hand, l.available
                    LIMIT 25) x) AS levels
        FROM moved m
        GROUP BY m.tenant_id
    LOOP
        PERFORM pg_notify('chainsight_events', jsonb_build_object(
            'tenant_id', t.tenant_id, 'type', 'stock.changed', 'at', now(),
            'data', jsonb_build_object('movements', t.movements, 'levels', t.levels))::text);
    END LOOP;

    PERFORM app.alert_low_stock(array_agg(s.tenant_id), array_agg(s.product_id), array_agg(s.warehouse_id),
                                array_agg(s.quantity))
    FROM moved s
    WHERE s.reservation_id IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER stock_movements_announce AFTER INSERT ON app.stock_movements
    REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION app.announce_stock_movements();

-- Views over members and notifications for keyset-paginated lists. security_invoker: the caller's
-- row-level security applies, not the view owner's.

-- Members of the caller's tenant (the foundation's members policy also shows the caller's own rows in
-- other tenants: filtered out here), with their profile's display name.
CREATE VIEW app.member_directory WITH (security_invoker = true) AS
SELECT m.user_id AS id,
       m.user_id,
       m.email,
       m.role,
       p.display_name,
       m.created_at
FROM app.members m
LEFT JOIN app.member_profiles p ON p.tenant_id = m.tenant_id AND p.user_id = m.user_id
WHERE m.tenant_id = (SELECT app.current_tenant_id())
  AND m.email IS DISTINCT FROM 'carrier-webhook@integrations.chainsight';
GRANT SELECT ON app.member_directory TO authenticated;

-- Notifications the caller can see, with the caller's own read state.

-- A member's notification settings (member_profiles.notifications, merged field by field by PATCH /me) decide what
-- their list shows: until now they were stored and read by nothing. Turned off: in_app hides every notification,
-- low_stock the low-stock ones, shipments the shipment ones (shipment.*), purchase_orders the late-delivery
-- predictions on open orders (risk.late_delivery). A setting never given is on, as NotificationSettings says.
CREATE VIEW app.my_notifications WITH (security_invoker = true) AS
SELECT n.id,
       n.kind,
       n.title,
       n.data,
       n.user_id IS NOT NULL AS personal,
       r.read_at,
       r.read_at IS NOT NULL AS read,
       n.created_at
FROM app.notifications n
LEFT JOIN app.notification_reads r
  ON r.tenant_id = n.tenant_id AND r.notification_id = n.id AND r.user_id = (SELECT app.current_user_id())
LEFT JOIN app.member_profiles p
  ON p.tenant_id = n.tenant_id AND p.user_id = (SELECT app.current_user_id())
WHERE coalesce((p.notifications ->> 'in_app')::boolean, true)
  AND coalesce((p.notifications ->> CASE
          WHEN n.kind = 'low_stock' THEN 'low_stock'
          WHEN n.kind LIKE 'shipment.%' THEN 'shipments'
          WHEN n.kind = 'risk.late_delivery' THEN 'purchase_orders'
      END)::boolean, true);
GRANT SELECT ON app.my_notifications TO authenticated;

-- Purchase order and shipment numbers count per tenant (PO-000001, PO-000002, ... in each tenant). A global
-- sequence let every tenant read the others' volumes off its own numbers.
CREATE TABLE app.tenant_counters (
    tenant_id   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    name        text NOT NULL,
    last_value  bigint NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- No grants and row-level security forced: only the numbering trigger (SECURITY DEFINER) reaches it.
ALTER TABLE app.tenant_counters ENABLE ROW LEVEL SECURITY;

-- BEFORE INSERT: a row without a number gets the tenant's next one. The counter row is locked until the
-- inserting transaction ends, so numbers are never shared, and a rolled-back insert leaves no gap.

-- A number an ERP sync brought in, in this project's own format (an ERP numbering PO-000007), was given again by
-- the counter: the insert failed on the unique number, and every retry too (the rollback put the counter back).
-- The next number now skips those already taken in the tenant.
CREATE FUNCTION app.assign_tenant_number() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    next_value bigint;
    taken boolean;
BEGIN
    IF NEW.number IS NULL THEN
        LOOP
            INSERT INTO app.tenant_counters AS c (tenant_id, name, last_value) VALUES (NEW.tenant_id, TG_ARGV[0], 1)
            ON CONFLICT (tenant_id, name) DO UPDATE SET last_value = c.last_value + 1
            RETURNING last_value INTO next_value;
            NEW.number := TG_ARGV[1] || lpad(next_value::text, 6, '0');
            EXECUTE format('SELECT EXISTS (SELECT FROM app.%I WHERE tenant_id = $1 AND number = $2)', TG_TABLE_NAME)
                INTO taken USING NEW.tenant_id, NEW.number;
            EXIT WHEN NOT taken;
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER purchase_orders_number BEFORE INSERT ON app.purchase_orders
    FOR EACH ROW EXECUTE FUNCTION app.assign_tenant_number('purchase_order', 'PO-');
CREATE TRIGGER shipments_number BEFORE INSERT ON app.shipments
    FOR EACH ROW EXECUTE FUNCTION app.assign_tenant_number('shipment', 'SH-');

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

-- ==================================================================================================================
-- Forecasting
-- ==================================================================================================================

-- Forecasting: the model registry (one row per training or batch run) and the stored demand forecasts.
--
-- Both are tenant tables with the foundation's row-level security. A run is identified by
-- (tenant, model_name, run_key), so a rerun of the same job (e.g. the nightly batch for the same date)
-- finds its run again instead of adding one, and its forecasts replace the earlier ones: the primary key
-- of demand_forecasts makes a duplicate impossible even if a writer forgot to delete first.

-- A forecast run whose job's process ended before it finished (Ray's SIGTERM, an OOM kill: the job's except
-- clause never ran) stayed 'running' for good unless a rerun of the same night reused its run key; GET
-- /ai/forecast/runs showed it running. training.registry.start_run now fails the runs of the same tenant and
-- model still running more than 12 hours after they started (training.registry_runs.STALE_AFTER: the nightly
-- RayJob's deadline is 4 hours and nights are 24 apart) as 'interrupted: the job stopped before finishing it'.
-- started_at is when the run was last started: a rerun under the same run key starts it again, so a row created
-- long ago but running now is not taken for an interrupted one.
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
    started_at          timestamptz NOT NULL DEFAULT now(),
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

-- ==================================================================================================================
-- Risk
-- ==================================================================================================================

-- Supplier and supply-chain risk: supplier attributes, certifications, audits, imported delivery and price
-- history (plus views that add what purchase orders and receipts already record), per-tenant weights, model
-- artifacts, stored predictions, alert state, and a country risk reference table.
--
-- Tenant tables follow the foundation's pattern (tenant_id, ENABLE + FORCE RLS, composite foreign keys).

-- Country and region risk indices, 0 (lowest risk) to 100. Reference data for every tenant: no tenant_id and
-- no row-level security; the request role may only read it, the owner role (an operator) updates it.
-- The seeded figures are illustrative defaults in the spirit of public indices (political stability,
-- logistics performance, natural hazard exposure); operators replace them with their provider's.
CREATE TABLE app.country_risk (
    country         char(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    name            text NOT NULL,
    region          text NOT NULL,
    political       numeric(5, 2) NOT NULL CHECK (political BETWEEN 0 AND 100),
    economic        numeric(5, 2) NOT NULL CHECK (economic BETWEEN 0 AND 100),
    logistics       numeric(5, 2) NOT NULL CHECK (logistics BETWEEN 0 AND 100),
    natural_hazard  numeric(5, 2) NOT NULL CHECK (natural_hazard BETWEEN 0 AND 100),
    overall         numeric(5, 2) GENERATED ALWAYS AS
        ((political * 0.35 + economic * 0.25 + logistics * 0.25 + natural_hazard * 0.15)::numeric(5, 2)) STORED,
    source          text NOT NULL DEFAULT 'chainsight default',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON app.country_risk TO authenticated;
INSERT INTO app.country_risk (country, name, region, political, economic, logistics, natural_hazard) VALUES
    ('DE', 'Germany', 'Europe', 12, 15, 8, 10),
    ('FR', 'France', 'Europe', 20, 20, 12, 12),
    ('NL', 'Netherlands', 'Europe', 10, 14, 6, 18),
    ('BE', 'Belgium', 'Europe', 16, 18, 10, 10),
    ('IE', 'Ireland', 'Europe', 10, 16, 18, 8),
    ('GB', 'United Kingdom', 'Europe', 18, 22, 12, 8),
    ('NO', 'Norway', 'Europe', 6, 12, 16, 12),
    ('SE', 'Sweden', 'Europe', 8, 14, 12, 6),
    ('FI', 'Finland', 'Europe', 8, 16, 14, 6),
    ('DK', 'Denmark', 'Europe', 6, 12, 10, 8),
    ('CH', 'Switzerland', 'Europe', 5, 8, 10, 12),
    ('AT', 'Austria', 'Europe', 10, 14, 12, 14),
    ('IT', 'Italy', 'Europe', 28, 32, 20, 30),
    ('ES', 'Spain', 'Europe', 24, 28, 16, 22),
    ('PT', 'Portugal', 'Europe', 16, 30, 22, 20),
    ('PL', 'Poland', 'Europe', 26, 26, 22, 10),
    ('CZ', 'Czechia', 'Europe', 18, 22, 18, 10),
    ('HU', 'Hungary', 'Europe', 34, 34, 24, 10),
    ('RO', 'Romania', 'Europe', 32, 38, 36, 24),
    ('TR', 'Turkey', 'Europe', 58, 66, 38, 52),
    ('UA', 'Ukraine', 'Europe', 92, 86, 72, 20),
    ('RU', 'Russia', 'Europe', 90, 78, 60, 24),
    ('US', 'United States', 'North America', 22, 18, 12, 34),
    ('CA', 'Canada', 'North America', 10, 16, 14, 20),
    ('MX', 'Mexico', 'North America', 52, 44, 42, 48),
    ('BR', 'Brazil', 'South America', 48, 52, 50, 30),
    ('AR', 'Argentina', 'South America', 50, 78, 48, 22),
    ('CL', 'Chile', 'South America', 30, 30, 34, 62),
    ('CN', 'China', 'Asia', 50, 36, 24, 46),
    ('TW', 'Taiwan', 'Asia', 46, 20, 16, 66),
    ('JP', 'Japan', 'Asia', 10, 22, 10, 72),
    ('KR', 'South Korea', 'Asia', 24, 20, 12, 30),
    ('IN', 'India', 'Asia', 46, 40, 44, 58),
    ('VN', 'Vietnam', 'Asia', 40, 42, 40, 56),
    ('TH', 'Thailand', 'Asia', 44, 38, 34, 50),
    ('MY', 'Malaysia', 'Asia', 30, 32, 26, 34),
    ('ID', 'Indonesia', 'Asia', 42, 42, 46, 68),
    ('BD', 'Bangladesh', 'Asia', 62, 56, 64, 78),
    ('PK', 'Pakistan', 'Asia', 78, 72, 66, 64),
    ('SG', 'Singapore', 'Asia', 6, 10, 6, 10),
    ('AE', 'United Arab Emirates', 'Middle East', 24, 20, 14, 20),
    ('IL', 'Israel', 'Middle East', 64, 30, 22, 24),
    ('ZA', 'South Africa', 'Africa', 46, 58, 44, 28),
    ('EG', 'Egypt', 'Africa', 62, 66, 46, 30),
    ('NG', 'Nigeria', 'Africa', 74, 72, 70, 40),
    ('MA', 'Morocco', 'Africa', 36, 42, 40, 34),
    ('AU', 'Australia', 'Oceania', 10, 16, 18, 44),
    ('NZ', 'New Zealand', 'Oceania', 6, 16, 22, 50);

-- What a buyer knows about a supplier besides the catalogue row: where it ships from, what it supplies,
-- financial indicators, and how goods usually travel.
CREATE TABLE app.supplier_risk_profiles (
    tenant_id              uuid NOT NULL,
    supplier_id            uuid NOT NULL,
    region                 text CHECK (length(region) <= 100),
    categories             text[] NOT NULL DEFAULT '{}',
    credit_rating          text CHECK (credit_rating IN ('AAA', 'AA', 'A', 'BBB', 'BB', 'B', 'CCC', 'CC', 'C', 'D')),
    days_payable           integer CHECK (days_payable BETWEEN 0 AND 720),
    revenue_trend_pct      numeric(7, 2) CHECK (revenue_trend_pct BETWEEN -100 AND 1000),
    distance_km            numeric(9, 1) CHECK (distance_km BETWEEN 0 AND 40000),
    default_shipment_mode  text NOT NULL DEFAULT 'road' CHECK (default_shipment_mode IN ('road', 'rail', 'sea', 'air')),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, supplier_id),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE app.supplier_certifications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    supplier_id  uuid NOT NULL,
    standard     text NOT NULL CHECK (length(standard) BETWEEN 1 AND 64),  -- ISO 9001, IATF 16949, ...
    reference    text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
    issued_on    date,
    expires_on   date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, supplier_id, standard, reference),
    CHECK (issued_on IS NULL OR issued_on <= expires_on),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX supplier_certifications_expiry_idx ON app.supplier_certifications (tenant_id, expires_on);

CREATE TABLE app.supplier_audits (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    supplier_id  uuid NOT NULL,
    audited_on   date NOT NULL,
    score        numeric(5, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),  -- 100 = no findings
    outcome      text NOT NULL CHECK (outcome IN ('pass', 'conditional', 'fail')),
    next_due     date,
    notes        text CHECK (length(notes) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, supplier_id, audited_on),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE
);

-- Delivery history imported from other systems (years of it, at onboarding). `import_key` is a hash of the
-- row's identity, so importing the same file twice adds nothing.

-- Imported delivery history may not say how a line was shipped: keep that unknown (NULL) rather than
-- pretending it went by road, which mixed unknown lines into the road late rate.

-- Imported delivery values keep their currency, as purchase orders do: a supplier's share of the tenant's purchase
-- spend summed JPY and EUR as one figure, so a supplier invoicing in yen was "99% of our spend".
CREATE TABLE app.supplier_deliveries (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL,
    supplier_id        uuid NOT NULL,
    product_id         uuid,
    category           text CHECK (length(category) <= 100),
    origin_country     char(2) CHECK (origin_country ~ '^[A-Z]{2}$'),
    shipment_mode      text CHECK (shipment_mode IN ('road', 'rail', 'sea', 'air')),
    order_date         date NOT NULL,
    promised_date      date NOT NULL,
    delivered_date     date,
    quantity           numeric(18, 4) NOT NULL CHECK (quantity > 0),
    quantity_received  numeric(18, 4) CHECK (quantity_received >= 0),
    quantity_rejected  numeric(18, 4) NOT NULL DEFAULT 0 CHECK (quantity_rejected >= 0),
    value              numeric(18, 4) CHECK (value >= 0),
    reference          text CHECK (length(reference) <= 200),
    import_key         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    currency               char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    UNIQUE (tenant_id, import_key),
    CHECK (promised_date >= order_date),
    CHECK (delivered_date IS NULL OR delivered_date >= order_date),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE SET NULL (product_id)
);
CREATE INDEX supplier_deliveries_supplier_idx ON app.supplier_deliveries (tenant_id, supplier_id, order_date);

CREATE TABLE app.supplier_price_history (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL,
    supplier_id  uuid NOT NULL,
    product_id   uuid,
    category     text CHECK (length(category) <= 100),
    observed_on  date NOT NULL,
    unit_price   numeric(14, 4) NOT NULL CHECK (unit_price > 0),
    currency     char(3) NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    import_key   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, import_key),
    CHECK (product_id IS NOT NULL OR category IS NOT NULL),
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES app.suppliers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES app.products (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX supplier_price_history_product_idx ON app.supplier_price_history (tenant_id, product_id, observed_on);

-- Per-tenant weights of the four score components; absent, the defaults in risk/scoring.py apply.
CREATE TABLE app.risk_weights (
    tenant_id     uuid PRIMARY KEY REFERENCES app.tenants (id) ON DELETE CASCADE,
    financial     numeric(5, 4) NOT NULL CHECK (financial BETWEEN 0 AND 1),
    operational   numeric(5, 4) NOT NULL CHECK (operational BETWEEN 0 AND 1),
    geographical  numeric(5, 4) NOT NULL CHECK (geographical BETWEEN 0 AND 1),
    compliance    numeric(5, 4) NOT NULL CHECK (compliance BETWEEN 0 AND 1),
    updated_by    uuid,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (abs(financial + operational + geographical + compliance - 1) <= 0.001)
);

-- Disruption model artifacts. Runs, versions, metrics and the champion live in the model registry shared
-- with forecasting (app.forecast_runs, model_name 'risk-disruption'); this table holds each run's bytes.
CREATE TABLE app.risk_model_artifacts (
    tenant_id   uuid NOT NULL,
    run_id      uuid NOT NULL,
    artifact    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, run_id),
    FOREIGN KEY (tenant_id, run_id) REFERENCES app.forecast_runs (tenant_id, id) ON DELETE CASCADE
);

-- The latest disruption prediction per open purchase-order line, written by the early-warning job.
CREATE TABLE app.risk_predictions (
    tenant_id                uuid NOT NULL,
    purchase_order_line_id   uuid NOT NULL,
    purchase_order_id        uuid NOT NULL,
    late_probability         double precision NOT NULL CHECK (late_probability BETWEEN 0 AND 1),
    expected_delay_days      double precision NOT NULL CHECK (expected_delay_days >= 0),
    model_version            integer,
    contributions            jsonb NOT NULL DEFAULT '[]',
    scored_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, purchase_order_line_id),
    FOREIGN KEY (tenant_id, purchase_order_line_id) REFERENCES app.purchase_order_lines (tenant_id, id)
        ON DELETE CASCADE
);

-- Alert hysteresis: one row per watched subject and kind. An alert is raised when the value crosses the
-- threshold upwards while the state is not active, and re-armed only once it falls below the lower bound.
CREATE TABLE app.risk_alert_state (
    tenant_id     uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('late_delivery', 'supplier_score', 'certification_expiry',
                                                'price_shock')),
    subject_id    uuid NOT NULL,
    active        boolean NOT NULL,
    last_value    double precision NOT NULL,
    raised_count  integer NOT NULL DEFAULT 0,
    raised_at     timestamptz,
    cleared_at    timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, subject_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['supplier_risk_profiles', 'supplier_certifications', 'supplier_audits',
                             'supplier_deliveries', 'supplier_price_history', 'risk_weights', 'risk_model_artifacts',
                             'risk_predictions', 'risk_alert_state']
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
GRANT SELECT, INSERT, UPDATE, DELETE ON app.supplier_risk_profiles, app.supplier_certifications,
    app.supplier_audits, app.supplier_deliveries, app.supplier_price_history, app.risk_weights, app.risk_model_artifacts,
    app.risk_predictions, app.risk_alert_state TO authenticated;

-- Delivery history as one relation: imported rows plus every purchase-order line that was issued with an
-- expected date. A line is delivered when its last receipt completed it (received + cancelled >= ordered);
-- until then `delivered_date` is NULL (open). Shortfalls count as unreceived quantity once delivered.
CREATE VIEW app.risk_delivery_history WITH (security_invoker = true) AS
SELECT d.id,
       'import'::text AS source,
       d.supplier_id,
       d.product_id,
       coalesce(d.category, p.category) AS category,
       coalesce(d.origin_country, s.country::char(2)) AS origin_country,
       d.shipment_mode,
       d.order_date,
       d.promised_date,
       d.delivered_date,
       d.quantity,
       coalesce(d.quantity_received, CASE WHEN d.delivered_date IS NOT NULL THEN d.quantity END) AS quantity_received,
       d.quantity_rejected,
       d.value,
       NULL::uuid AS purchase_order_id,
       d.currency
FROM app.supplier_deliveries d
JOIN app.suppliers s ON s.tenant_id = d.tenant_id AND s.id = d.supplier_id
LEFT JOIN app.products p ON p.tenant_id = d.tenant_id AND p.id = d.product_id
UNION ALL
SELECT l.id,
       'purchase_order'::text,
       po.supplier_id,
       l.product_id,
       p.category,
       s.country::char(2),
       coalesce(rp.default_shipment_mode, 'road'),
       (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date,
       greatest(po.expected_date, (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date),
       CASE WHEN l.received_base + l.cancelled_base >= l.quantity_base THEN
            (coalesce(last_receipt.at, l.erp_received_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date
       END,
       l.quantity_base,
       l.received_base,
       0::numeric,
       l.quantity * l.unit_price,
       po.id,
       po.currency::char(3)
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.suppliers s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
LEFT JOIN app.supplier_risk_profiles rp ON rp.tenant_id = po.tenant_id AND rp.supplier_id = po.supplier_id
CROSS JOIN LATERAL (SELECT max(r.received_at) AS at
                    FROM app.purchase_receipt_lines rl
                    JOIN app.purchase_receipts r ON r.tenant_id = rl.tenant_id AND r.id = rl.receipt_id
                    WHERE rl.tenant_id = l.tenant_id AND rl.purchase_order_line_id = l.id) last_receipt
WHERE po.status IN ('issued', 'partially_received', 'received') AND po.expected_date IS NOT NULL
  -- A line closed with nothing received (its backorder closed, or cancelled in the ERP) was never delivered.
  AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base)
  -- A line an ERP had received before any sync saw it: when it came is not known, so it is no evidence.
  AND NOT (l.received_base + l.cancelled_base >= l.quantity_base
           AND last_receipt.at IS NULL AND l.erp_received_at IS NULL);
GRANT SELECT ON app.risk_delivery_history TO authenticated;

-- Purchase prices: imported observations plus the price of every issued purchase-order line.

-- A purchase-order line closed with nothing received (its backorder closed, or cancelled in an ERP) bought
-- nothing, so its price is no price paid: the delivery history leaves it out (0128), the last price paid passes
-- it over, and so does spend. The price history still read it as an observation: ten orders at 10.00 and then a
-- line cancelled at 25.00 read a last price of 25.00, a 150% shock, in market risk's volatility and trend and in
-- the flags on new lines against earlier prices. A line closed after part of it came keeps its price. A view: no
-- stored rows to repair.
CREATE VIEW app.risk_price_history WITH (security_invoker = true) AS
SELECT h.supplier_id, h.product_id, coalesce(h.category, p.category) AS category, h.observed_on, h.unit_price,
       h.currency, 'import'::text AS source, NULL::uuid AS purchase_order_line_id, NULL::timestamptz AS observed_at
FROM app.supplier_price_history h
LEFT JOIN app.products p ON p.tenant_id = h.tenant_id AND p.id = h.product_id
UNION ALL
SELECT po.supplier_id, l.product_id, p.category,
       (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date,
       l.unit_price / l.uom_factor, po.currency::char(3), 'purchase_order', l.id,
       coalesce(po.issued_at, po.created_at)
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE po.status IN ('issued', 'partially_received', 'received') AND l.unit_price > 0
  -- A line closed with nothing received (its backorder closed, or cancelled in the ERP) was never bought.
  AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base);
GRANT SELECT ON app.risk_price_history TO authenticated;

-- ==================================================================================================================
-- Copilot
-- ==================================================================================================================

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

-- Calls of the OpenAI-compatible LLM route, counted per user for its rate limit (like copilot questions,
-- in the database so the limit holds across replicas). Rows older than the window are pruned as new
-- ones arrive, so the table stays small. Its constraints and identity sequence keep the names of the
-- table's first name, copilot_llm_requests (renamed when copilot questions came to be counted here too).

-- Copilot questions are counted in their own log beside the OpenAI-compatible route's calls (`kind`). They were
-- counted as the caller's messages, which go with a deleted conversation: a member could delete their
-- conversations and ask again past the per-minute limit. No route deletes these rows; each request prunes the
-- caller's rows that have left the one-minute window.
CREATE TABLE app.copilot_requests (
    id          bigint CONSTRAINT copilot_llm_requests_id_not_null NOT NULL
        GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME app.copilot_llm_requests_id_seq)
        CONSTRAINT copilot_llm_requests_pkey PRIMARY KEY,
    tenant_id   uuid CONSTRAINT copilot_llm_requests_tenant_id_not_null NOT NULL
        CONSTRAINT copilot_llm_requests_tenant_id_fkey REFERENCES app.tenants (id) ON DELETE CASCADE,
    user_id     uuid CONSTRAINT copilot_llm_requests_user_id_not_null NOT NULL DEFAULT app.current_user_id(),
    created_at  timestamptz CONSTRAINT copilot_llm_requests_created_at_not_null NOT NULL DEFAULT clock_timestamp(),
    kind        text NOT NULL DEFAULT 'llm' CHECK (kind IN ('llm', 'question'))
);
ALTER TABLE app.copilot_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.copilot_requests FORCE ROW LEVEL SECURITY;

-- Any member (viewers too) may call the model; each sees and counts only their own calls.
CREATE POLICY own_rows ON app.copilot_requests FOR ALL TO authenticated
    USING (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()))
    WITH CHECK (tenant_id = (SELECT app.current_tenant_id()) AND user_id = (SELECT app.current_user_id()));
GRANT SELECT, INSERT, DELETE ON app.copilot_requests TO authenticated;
CREATE INDEX copilot_requests_user_idx ON app.copilot_requests (tenant_id, user_id, kind, created_at);

-- ==================================================================================================================
-- Integrations
-- ==================================================================================================================

-- ERP integration: connector configurations (credentials encrypted by the service before they reach the
-- database), per-entity sync cursors, run history, dead letters and the external-id maps that make every
-- upsert idempotent.
--
-- A sync job acts for a tenant with the membership of the connector's `acting_user_id` (the admin who
-- configured it): it enters the tenant through app.enter_request like any request, so row-level security
-- bounds what a job can touch exactly as it bounds an API call.

-- Scheduled ERP syncs: an optional interval per connector, and the function a scheduler (the RayCronJob
-- cluster/base/integrations-due-sync.yaml, or `chainsight up`'s background loop) calls to claim the
-- connectors that are due, across tenants.
--
-- NULL = manual syncs only. Admins set it through the connector API, under the admin policies of 0050.
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
    sync_interval_minutes integer CHECK (sync_interval_minutes BETWEEN 5 AND 10080),
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

-- A run notified "some records were dead-lettered" only for the dead letters it opened itself, and only when it
-- did not fail: one that dead-lettered records and then failed (the ERP gone mid-run, a job that died) told only
-- of its failure, and the runs after it met those letters open already, so they were never announced. Each dead
-- letter now records when it was announced (announced_at, cleared when it is reopened); every run that closes
-- announces the open ones not yet announced and marks them in the same transaction (integrations.sync for the
-- job's own close, app.close_integration_run below for the service's), so each is announced once.
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
    announced_at      timestamptz,
    UNIQUE (tenant_id, connector_id, entity, external_id),
    FOREIGN KEY (tenant_id, connector_id) REFERENCES app.integration_connectors (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX integration_dead_letters_open_idx ON app.integration_dead_letters (tenant_id, connector_id, last_seen_at)
    WHERE resolved_at IS NULL;

-- External id -> Chainsight id, per connector and entity; `fingerprint` is a hash of the mapped record so
-- an unchanged record costs no write.

-- Each ERP stock record's last reported quantity, beside its external id: a level several records of one
-- connector land on (two SAP plants mapped onto one warehouse) holds their sum, and a record gone from the
-- snapshot, or mapped to another warehouse, takes only its own quantity away. Until now each record set the level
-- to its own figure, so the last one read won (1 + 1 and 10 + 10 read 20, not 22), and every sync posted the
-- same pair of adjustments again.
--
-- Null for other entities, and for a stock record until the next snapshot brings its quantity (it then counts
-- as nothing beside the others). Reads and writes go through the table's grants and row-level security (0050).

-- The active flag an ERP last sent for a product or supplier, beside its external id: a sync writes the row's
-- `active` only when the ERP's own flag changes. Until now every change to the record wrote it, so a supplier or
-- product deactivated in Chainsight was active again after the ERP's next unrelated edit (a vendor's e-mail), and
-- no one was told.
--
-- Null for other entities, and for a record mapped before this migration until the ERP next changes it: not
-- knowing the flag the ERP sent last, that sync writes a deactivation but not an activation. Reads and writes go
-- through the table's grants and row-level security (0050).
CREATE TABLE app.integration_external_ids (
    tenant_id     uuid NOT NULL,
    connector_id  uuid NOT NULL,
    entity        text NOT NULL,
    external_id   text NOT NULL,
    local_id      uuid NOT NULL,
    fingerprint   text,
    synced_at     timestamptz NOT NULL DEFAULT now(),
    quantity          numeric(18, 4),
    erp_active        boolean,
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
CREATE INDEX integration_connectors_scheduled_idx ON app.integration_connectors (tenant_id, id)
    WHERE enabled AND sync_interval_minutes IS NOT NULL;

-- Claim every due connector: enabled, scheduled, its acting member still allowed to write, no run queued
-- or running (runs silent for 15 minutes count as abandoned and are failed first, as the API does), and
-- no run started within the interval. Each claim is a queued run with trigger 'schedule', inserted in
-- this transaction; the job then starts it by id like an API-queued run.
--
-- Two schedulers never claim the same connector: the transaction-scoped advisory lock serialises
-- claimers (each statement after it sees what an earlier claimer committed), and the unique partial
-- index integration_sync_runs_active_idx refuses a second active run even beside an API request
-- (ON CONFLICT DO NOTHING: the API's run wins, the scheduler skips the connector).
--
-- For the service's login role only (like app.integration_actor): the job knows no user, and it reads
-- connectors of every tenant. p_tenant narrows it to one tenant; p_limit caps the claims of one call.
CREATE FUNCTION app.claim_due_integration_syncs(p_tenant uuid DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (tenant_id uuid, connector_id uuid, run_id uuid, connector_name text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('app.claim_due_integration_syncs'));

    PERFORM app.fail_abandoned_integration_runs(p_tenant, NULL, true);

    RETURN QUERY
    WITH due AS (
        SELECT c.tenant_id, c.id
        FROM app.integration_connectors c
        JOIN app.members m ON m.tenant_id = c.tenant_id AND m.user_id = c.acting_user_id
                          AND m.role IN ('admin', 'planner')
        CROSS JOIN LATERAL (
            SELECT coalesce(max(coalesce(l.started_at, l.created_at)), '-infinity') AS at
            FROM app.integration_sync_runs l WHERE l.tenant_id = c.tenant_id AND l.connector_id = c.id) last_run
        WHERE c.enabled AND c.sync_interval_minutes IS NOT NULL
          AND (p_tenant IS NULL OR c.tenant_id = p_tenant)
          AND NOT EXISTS (
              SELECT 1 FROM app.integration_sync_runs a
              WHERE a.tenant_id = c.tenant_id AND a.connector_id = c.id AND a.status IN ('queued', 'running'))
          AND last_run.at <= now() - make_interval(mins => c.sync_interval_minutes)
        -- Longest overdue first: with more due than p_limit, the ones left out come first next time.
        ORDER BY last_run.at + make_interval(mins => c.sync_interval_minutes), c.tenant_id, c.id
        LIMIT greatest(p_limit, 0)
    ),
    claimed AS (
        INSERT INTO app.integration_sync_runs AS r (tenant_id, connector_id, status, trigger)
        SELECT due.tenant_id, due.id, 'queued', 'schedule' FROM due
        ON CONFLICT (tenant_id, connector_id) WHERE status IN ('queued', 'running') DO NOTHING
        RETURNING r.tenant_id, r.connector_id, r.id
    )
    SELECT cl.tenant_id, cl.connector_id, cl.id, c.name
    FROM claimed cl JOIN app.integration_connectors c ON c.tenant_id = cl.tenant_id AND c.id = cl.connector_id
    ORDER BY cl.tenant_id, c.name;
END
$$;
REVOKE ALL ON FUNCTION app.claim_due_integration_syncs(uuid, integer) FROM PUBLIC;

-- A push of a purchase order to an ERP claims the order for that connector before the ERP call (committed, so
-- nothing is held open while the ERP answers) and releases it when the call has answered: a second push of the
-- same order meanwhile is refused (409 push_in_progress) instead of creating a second order in the ERP. A claim
-- older than the push deadline plus 60 s (three minutes by default: a process that died during the call) may be
-- taken over.
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

-- A scheduled run claimed by one job waits, queued, until the job's Ray cluster has a worker for it; the next
-- quarter hour's claim took it for abandoned ("the sync job stopped reporting") and failed it. The job now stamps
-- the claims it still holds while they wait. For the service's login role only, as the claim itself.
CREATE FUNCTION app.keep_integration_claims(p_runs uuid[]) RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    WITH kept AS (
        UPDATE app.integration_sync_runs SET heartbeat_at = now()
        WHERE id = ANY(p_runs) AND status = 'queued'
        RETURNING 1
    )
    SELECT count(*)::integer FROM kept
$$;
REVOKE ALL ON FUNCTION app.keep_integration_claims(uuid[]) FROM PUBLIC;

-- A sync job closes its runs as the connector's acting member; once that member was demoted (or removed) before
-- the run finished, row-level security refused the update: the run stayed queued or running, blocked every sync
-- of the connector for 15 minutes and was then failed as "abandoned". The job now closes such a run through this
-- function: only the given run, only while it is still in one of p_from (queued or running), announced in its
-- own tenant (read from the run) as a finished run is. For the service's login role only, as the claim itself.

-- As in 0140, and the open letters of the run's connector not yet announced are announced with it: a failed run's
-- title says "failed (some records were dead-lettered): <error>".
CREATE FUNCTION app.close_integration_run(p_run uuid, p_status text, p_counts jsonb, p_error text,
                                                     p_from text[])
RETURNS TABLE (id uuid, tenant_id uuid, connector_id uuid, status text, trigger text, requested_by uuid,
               counts jsonb, error text, created_at timestamptz, started_at timestamptz, finished_at timestamptz,
               connector_name text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
    WITH closed AS (
        UPDATE app.integration_sync_runs r
        SET status = p_status, counts = coalesce(p_counts, '{}'), error = p_error, finished_at = now(),
            heartbeat_at = now()
        WHERE r.id = p_run AND r.status = ANY(p_from) AND r.status IN ('queued', 'running')
        RETURNING r.*
    ), announced AS (
        SELECT c.*, k.name AS connector_name
        FROM closed c JOIN app.integration_connectors k ON k.tenant_id = c.tenant_id AND k.id = c.connector_id
    ), letters AS (
        UPDATE app.integration_dead_letters d SET announced_at = now()
        FROM announced a
        WHERE d.tenant_id = a.tenant_id AND d.connector_id = a.connector_id AND a.status <> 'succeeded'
          AND d.resolved_at IS NULL AND d.announced_at IS NULL
        RETURNING d.id
    ), notified AS (
        INSERT INTO app.notifications (tenant_id, kind, title, data)
        SELECT a.tenant_id, 'integration_sync',
               left(CASE WHEN a.status = 'failed'
                         THEN format('ERP sync of %s failed%s: %s', a.connector_name,
                                     CASE WHEN EXISTS (SELECT 1 FROM letters)
                                          THEN ' (some records were dead-lettered)' ELSE '' END,
                                     a.error)
                         ELSE format('ERP sync of %s finished; some records were dead-lettered', a.connector_name)
                    END, 300),
               jsonb_build_object('connector_id', a.connector_id::text, 'connector', a.connector_name,
                                  'run_id', a.id::text, 'status', a.status, 'counts', a.counts, 'error', a.error)
        FROM announced a WHERE a.status <> 'succeeded'
        RETURNING 1
    )
    SELECT a.id, a.tenant_id, a.connector_id, a.status, a.trigger, a.requested_by, a.counts, a.error, a.created_at,
           a.started_at, a.finished_at, a.connector_name
    FROM announced a
$$;
REVOKE ALL ON FUNCTION app.close_integration_run(uuid, text, jsonb, text, text[]) FROM PUBLIC;

-- A run whose job stopped reporting (no heartbeat for 15 minutes: the process died) was failed as "abandoned"
-- with a plain UPDATE, by the scheduler's claim (0129) and by a sync started on the connector
-- (integrations.store.create_run), and no one was told: no integration_sync notification and no
-- integration.sync_failed event, which every other failed run has. Both now fail such runs through this function:
-- each run is closed and notified by app.close_integration_run (0140) and announced on chainsight_events with the
-- payload integrations.sync publishes for a closed run. p_tenant and p_connector narrow it (NULL: all);
-- p_scheduled_only keeps to the connectors the scheduler claims (enabled, with an interval), as 0129 did.
-- For the service's login role only, as the claim itself; members go through the one-argument form below.
CREATE FUNCTION app.fail_abandoned_integration_runs(p_tenant uuid, p_connector uuid, p_scheduled_only boolean)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    stale record;
    closed record;
    failed integer := 0;
BEGIN
    FOR stale IN
        SELECT r.id, r.counts
        FROM app.integration_sync_runs r
        JOIN app.integration_connectors c ON c.tenant_id = r.tenant_id AND c.id = r.connector_id
        WHERE (p_tenant IS NULL OR r.tenant_id = p_tenant)
          AND (p_connector IS NULL OR r.connector_id = p_connector)
          AND (NOT p_scheduled_only OR (c.enabled AND c.sync_interval_minutes IS NOT NULL))
          AND r.status IN ('queued', 'running')
          AND coalesce(r.heartbeat_at, r.started_at, r.created_at) < now() - interval '15 minutes'
        ORDER BY r.tenant_id, r.id
        -- Re-read under the lock: a heartbeat committed meanwhile takes the run out of the loop.
        FOR UPDATE OF r
    LOOP
        FOR closed IN
            SELECT * FROM app.close_integration_run(stale.id, 'failed', stale.counts,
                                                    'abandoned: the sync job stopped reporting',
                                                    ARRAY['queued', 'running'])
        LOOP
            PERFORM pg_notify('chainsight_events', jsonb_build_object(
                'tenant_id', closed.tenant_id, 'type', 'integration.sync_failed', 'at', now(),
                'data', jsonb_build_object('connector_id', closed.connector_id::text,
                                           'connector', closed.connector_name, 'run_id', closed.id::text,
                                           'status', closed.status, 'counts', closed.counts,
                                           'error', closed.error))::text);
            failed := failed + 1;
        END LOOP;
    END LOOP;
    RETURN failed;
END
$$;
REVOKE ALL ON FUNCTION app.fail_abandoned_integration_runs(uuid, uuid, boolean) FROM PUBLIC;

-- A member starting a sync (create_run, as an admin or planner) fails the abandoned runs of that connector in
-- their own tenant only; anyone else is refused.
CREATE FUNCTION app.fail_abandoned_integration_runs(p_connector uuid) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    writable uuid := app.writable_tenant_id();
BEGIN
    IF writable IS NULL OR p_connector IS NULL THEN
        RAISE EXCEPTION 'failing abandoned sync runs needs a writer of the tenant and a connector'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN app.fail_abandoned_integration_runs(writable, p_connector, false);
END
$$;
REVOKE ALL ON FUNCTION app.fail_abandoned_integration_runs(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.fail_abandoned_integration_runs(uuid) TO authenticated;
REVOKE ALL ON FUNCTION app.close_integration_run(uuid, text, jsonb, text, text[]) FROM PUBLIC;
