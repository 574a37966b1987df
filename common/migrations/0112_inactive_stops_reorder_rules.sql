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
