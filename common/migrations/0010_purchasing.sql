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

-- Lot/batch tracking: receipts of a lot-tracked product must name a lot.
ALTER TABLE app.products ADD COLUMN lot_tracked boolean NOT NULL DEFAULT false;

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

ALTER TABLE app.stock_movements ADD COLUMN lot_id uuid;
ALTER TABLE app.stock_movements
    ADD CONSTRAINT stock_movements_lot_fk FOREIGN KEY (tenant_id, lot_id) REFERENCES app.stock_lots (tenant_id, id);

-- Purchase orders. Numbers come from one sequence: unique, readable, not gap-free (like Odoo's).
CREATE SEQUENCE app.purchase_order_number_seq;
GRANT USAGE ON SEQUENCE app.purchase_order_number_seq TO authenticated;

CREATE TABLE app.purchase_orders (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                   uuid NOT NULL REFERENCES app.tenants (id) ON DELETE CASCADE,
    number                      text NOT NULL
        DEFAULT 'PO-' || lpad(nextval('app.purchase_order_number_seq')::text, 6, '0'),
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
