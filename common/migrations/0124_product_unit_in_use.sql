-- A product's unit is what its ledger and levels, order lines, reservations and reorder rules count in: a new
-- unit would relabel them all (100 each read as 100 kg, a line of 2 dozen as 24 kg). Refused once anything
-- counts in it, as Odoo refuses once a stock move is done; a product with nothing yet may still change it.
CREATE FUNCTION app.refuse_unit_change_in_use() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM app.stock_movements WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.purchase_order_lines WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.reservations WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
       OR EXISTS (SELECT 1 FROM app.reorder_rules WHERE tenant_id = NEW.tenant_id AND product_id = NEW.id)
    THEN
        RAISE EXCEPTION 'product % has stock, orders, reservations or reorder rules counted in %: its unit stays',
            NEW.sku, OLD.unit_of_measure
            USING ERRCODE = 'check_violation', CONSTRAINT = 'products_unit_in_use';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER products_unit_in_use BEFORE UPDATE OF unit_of_measure ON app.products
    FOR EACH ROW WHEN (NEW.unit_of_measure IS DISTINCT FROM OLD.unit_of_measure)
    EXECUTE FUNCTION app.refuse_unit_change_in_use();
