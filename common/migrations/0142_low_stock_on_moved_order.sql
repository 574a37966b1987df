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
      AND o.status IN ('draft', 'issued', 'partially_received');
    RETURN NULL;
END
$$;

CREATE TRIGGER purchase_orders_moved_alert AFTER UPDATE ON app.purchase_orders
    REFERENCING OLD TABLE AS old_orders NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION app.alert_moved_orders();
