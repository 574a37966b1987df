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

-- Continue after the numbers each tenant already has, so no new number collides with an old one.
INSERT INTO app.tenant_counters (tenant_id, name, last_value)
SELECT tenant_id, 'purchase_order', max(substring(number FROM '^PO-(\d+)$')::bigint)
FROM app.purchase_orders WHERE number ~ '^PO-\d+$' GROUP BY tenant_id;
INSERT INTO app.tenant_counters (tenant_id, name, last_value)
SELECT tenant_id, 'shipment', max(substring(number FROM '^SH-(\d+)$')::bigint)
FROM app.shipments WHERE number ~ '^SH-\d+$' GROUP BY tenant_id;

-- BEFORE INSERT: a row without a number gets the tenant's next one. The counter row is locked until the
-- inserting transaction ends, so numbers are never shared, and a rolled-back insert leaves no gap.
CREATE FUNCTION app.assign_tenant_number() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    next_value bigint;
BEGIN
    IF NEW.number IS NULL THEN
        INSERT INTO app.tenant_counters AS c (tenant_id, name, last_value) VALUES (NEW.tenant_id, TG_ARGV[0], 1)
        ON CONFLICT (tenant_id, name) DO UPDATE SET last_value = c.last_value + 1
        RETURNING last_value INTO next_value;
        NEW.number := TG_ARGV[1] || lpad(next_value::text, 6, '0');
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE app.purchase_orders ALTER COLUMN number DROP DEFAULT;
CREATE TRIGGER purchase_orders_number BEFORE INSERT ON app.purchase_orders
    FOR EACH ROW EXECUTE FUNCTION app.assign_tenant_number('purchase_order', 'PO-');
ALTER TABLE app.shipments ALTER COLUMN number DROP DEFAULT;
CREATE TRIGGER shipments_number BEFORE INSERT ON app.shipments
    FOR EACH ROW EXECUTE FUNCTION app.assign_tenant_number('shipment', 'SH-');
