-- A line moved to another product (an ERP's item given another material) takes what it was bringing away from its
-- old product: projected stock there falls by the line's open quantity, as when the line is removed, yet the
-- lost-incoming alert (0135, 0146) weighed a line's change for the product it has after the statement, and only
-- for a lower quantity, a closure or the ERP's receipt, so none came. Each changed line now gives what it brought
-- before to its old product and what it brings now to its new one (the same one: the difference, as before), so
-- the lines of one statement that trade products (an ERP renumbering its lines) weigh only what each location
-- really lost. A line moved to another product is weighed whatever its quantities. As in 0146 otherwise.
CREATE OR REPLACE FUNCTION app.alert_lost_incoming_lines() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(po.warehouse_id),
                                    array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
        FROM old_lines l
        JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
        WHERE po.status IN ('draft', 'issued', 'partially_received');
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
