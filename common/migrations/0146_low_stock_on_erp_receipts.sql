-- A receipt an ERP sync records also takes incoming away. The lost-incoming alert (0135) left every receipt out, as
-- one recorded here moves stock from incoming to on hand in one step (its movement raises on hand). The ERP's comes
-- in two: its on hand with the stock sync, which runs first and posts one net adjustment per level, then its lower
-- incoming with the order's lines. 4 received and 5 used in the ERP: stock 22 -> 21, the adjustment of -1 left 25
-- projected with the 4 still to come, and the order's receipt then took projected to 21 with no notification.
-- A line the sync finds received further is stamped (erp_received_at, 0136; nothing else writes it), so the
-- statement that stamps it now counts what the receipt took from incoming, with the statement's other changes in
-- one call: a receipt and a closure at once cross the minimum once. As in 0135 otherwise.
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
        -- What the statement did to quantity and cancellation, and to receipts the ERP recorded.
        PERFORM app.alert_low_stock(
            array_agg(c.tenant_id), array_agg(c.product_id), array_agg(c.warehouse_id),
            array_agg(greatest(c.quantity_base - c.received_base - c.cancelled_base, 0) - c.open_before))
        FROM (
            SELECT n.tenant_id, n.product_id, po.warehouse_id, n.quantity_base, n.cancelled_base,
                   CASE WHEN n.erp_received_at IS DISTINCT FROM o.erp_received_at THEN n.received_base
                        ELSE o.received_base END AS received_base,
                   greatest(o.quantity_base - o.received_base - o.cancelled_base, 0) AS open_before
            FROM old_lines o
            JOIN new_lines n ON n.tenant_id = o.tenant_id AND n.id = o.id
            JOIN app.purchase_orders po ON po.tenant_id = n.tenant_id AND po.id = n.purchase_order_id
            WHERE po.status IN ('draft', 'issued', 'partially_received')
              AND (n.quantity_base < o.quantity_base OR n.cancelled_base > o.cancelled_base
                   OR (n.received_base > o.received_base AND n.erp_received_at IS DISTINCT FROM o.erp_received_at))
        ) c;
    END IF;
    RETURN NULL;
END
$$;
