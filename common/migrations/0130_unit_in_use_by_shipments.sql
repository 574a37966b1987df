-- Shipment lines count in the product's unit too: an outbound line of 100 (each) of a product without stock yet
-- let the unit change, and the delivery then issued 100 kg. Refused as for the other things that count in it.
CREATE OR REPLACE FUNCTION app.refuse_unit_change_in_use() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM app.stock_movements WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.purchase_order_lines WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.shipment_lines WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.reservations WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.reorder_rules WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
    THEN
        RAISE EXCEPTION 'product % has stock, orders, shipments, reservations or reorder rules counted in %: its unit stays',
            NEW.sku, OLD.unit_of_measure
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_unit_in_use';
    END IF;
    RETURN NEW;
END
$$;
