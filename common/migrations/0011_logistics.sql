-- Logistics: shipments with tracking timelines, member profiles, notifications, and the real-time events
-- PostgreSQL publishes (NOTIFY on channel `chainsight_events`, delivered on commit to every replica).

CREATE SEQUENCE app.shipment_number_seq;
GRANT USAGE ON SEQUENCE app.shipment_number_seq TO authenticated;

CREATE TABLE app.shipments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id          uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    number             text NOT NULL DEFAULT 'SH-' || lpad(nextval('app.shipment_number_seq')::text, 6, '0'),
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
CREATE FUNCTION app.announce_stock_movements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    alert record;
BEGIN
    FOR t IN
        SELECT m.tenant_id,
               count(*) AS movements,
               (SELECT coalesce(jsonb_agg(x), '[]') FROM (
                    SELECT s.product_id, s.warehouse_id, sum(s.quantity) AS change, l.on_hand, l.available
                    FROM moved s
                    JOIN app.stock_levels l
                      ON l.tenant_id = s.tenant_id AND l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id
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

    -- A level that crosses below an active rule's minimum raises one alert (not one per movement).
    FOR alert IN
        SELECT s.tenant_id, s.product_id, s.warehouse_id, p.sku, w.code AS warehouse_code, r.min_quantity,
               l.on_hand, l.on_hand - sum(s.quantity) AS before
        FROM moved s
        JOIN app.stock_levels l
          ON l.tenant_id = s.tenant_id AND l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id
        JOIN app.reorder_rules r
          ON r.tenant_id = s.tenant_id AND r.product_id = s.product_id AND r.warehouse_id = s.warehouse_id
         AND r.active
        JOIN app.products p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
        JOIN app.warehouses w ON w.tenant_id = s.tenant_id AND w.id = s.warehouse_id
        GROUP BY s.tenant_id, s.product_id, s.warehouse_id, p.sku, w.code, r.min_quantity, l.on_hand
        HAVING l.on_hand < r.min_quantity AND l.on_hand - sum(s.quantity) >= r.min_quantity
    LOOP
        INSERT INTO app.notifications (tenant_id, kind, title, data)
        VALUES (alert.tenant_id, 'low_stock',
                format('%s in %s is below its minimum (%s < %s)', alert.sku, alert.warehouse_code,
                       alert.on_hand::float8, alert.min_quantity::float8),
                jsonb_build_object('product_id', alert.product_id, 'warehouse_id', alert.warehouse_id,
                                   'on_hand', alert.on_hand, 'min_quantity', alert.min_quantity));
        PERFORM pg_notify('chainsight_events', jsonb_build_object(
            'tenant_id', alert.tenant_id, 'type', 'alert', 'at', now(),
            'data', jsonb_build_object('kind', 'low_stock', 'product_id', alert.product_id,
                                       'warehouse_id', alert.warehouse_id, 'sku', alert.sku,
                                       'on_hand', alert.on_hand, 'min_quantity', alert.min_quantity))::text);
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER stock_movements_announce AFTER INSERT ON app.stock_movements
    REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION app.announce_stock_movements();
