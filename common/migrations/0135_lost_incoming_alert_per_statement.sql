-- The lost-incoming low-stock alert (0119) per statement, not per line. Row triggers fire after the statement
-- and each reads the stock the whole statement left: closing the backorder of an order with two lines of one
-- product made both triggers see the crossing (two notifications), or, with each line's own change alone,
-- neither. One call with every changed line lets app.alert_low_stock sum the changes per product and warehouse.
-- Transition tables cannot be limited to columns, so the update trigger compares the lines itself.
DROP TRIGGER purchase_order_lines_lost_incoming_alert ON app.purchase_order_lines;
DROP TRIGGER purchase_order_lines_removed_alert ON app.purchase_order_lines;
DROP FUNCTION app.alert_lost_incoming();

CREATE FUNCTION app.alert_lost_incoming_lines() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(po.warehouse_id),
                                    array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
        FROM old_lines l
        JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
        WHERE po.status IN ('draft', 'issued', 'partially_received');
    ELSE
        -- Only what the statement did to quantity and cancellation counts: a receipt moves stock from incoming
        -- to on hand and changes nothing projected.
        PERFORM app.alert_low_stock(
            array_agg(n.tenant_id), array_agg(n.product_id), array_agg(po.warehouse_id),
            array_agg(greatest(n.quantity_base - o.received_base - n.cancelled_base, 0)
                      - greatest(o.quantity_base - o.received_base - o.cancelled_base, 0)))
        FROM old_lines o
        JOIN new_lines n ON n.tenant_id = o.tenant_id AND n.id = o.id
        JOIN app.purchase_orders po ON po.tenant_id = n.tenant_id AND po.id = n.purchase_order_id
        WHERE po.status IN ('draft', 'issued', 'partially_received')
          AND (n.quantity_base < o.quantity_base OR n.cancelled_base > o.cancelled_base);
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
