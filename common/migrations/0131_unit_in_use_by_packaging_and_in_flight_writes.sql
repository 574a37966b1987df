-- A product's packaging units (product_uom_conversions: 1 box = 50 of its unit) count in its unit too: a change
-- from each to kg made the box 50 kg. And a first receipt, order line or reservation still in flight when the
-- change was checked slipped past it (it holds only a KEY SHARE lock on the product, which the change's row lock
-- does not wait for): the change now takes the row FOR UPDATE first, waiting for them, and then looks.
CREATE OR REPLACE FUNCTION app.refuse_unit_change_in_use() RETURNS trigger
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
