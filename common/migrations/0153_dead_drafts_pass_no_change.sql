-- A draft that cannot be issued as it stands (its supplier, warehouse or a product on it inactive) is not incoming
-- (0149), yet the low-stock alerts still weighed each of its lines as projected stock lost when it was cancelled,
-- removed, reduced or moved to another warehouse: app.alert_low_stock took the level before to be projected + its
-- open quantity, a level that never existed, and sent a second identical notification for stock already below its
-- minimum. 0149's rule is now one function, app.draft_counts, read by app.incoming_quantity and by the three
-- triggers for an order that was a draft before the change, so a draft that was not counted passes no change.
-- The supplier and warehouse are given (the moved-order trigger weighs the warehouse the order had), the products
-- are those of the order's lines. SECURITY INVOKER as app.incoming_quantity: row-level security keeps it in the
-- caller's tenant. As in 0117, 0142, 0147 and 0149 otherwise.
CREATE FUNCTION app.draft_counts(tenant uuid, purchase_order uuid, supplier uuid, warehouse uuid) RETURNS boolean
    LANGUAGE sql STABLE SECURITY INVOKER SET search_path = app, pg_temp
AS $$
    SELECT NOT EXISTS (
        SELECT FROM app.suppliers s WHERE s.id = supplier AND NOT s.active
        UNION ALL
        SELECT FROM app.warehouses w WHERE w.id = warehouse AND NOT w.active
        UNION ALL
        SELECT FROM app.purchase_order_lines o JOIN app.products p ON p.id = o.product_id
        WHERE o.tenant_id = tenant AND o.purchase_order_id = purchase_order AND NOT p.active)
$$;
GRANT EXECUTE ON FUNCTION app.draft_counts(uuid, uuid, uuid, uuid) TO authenticated;

CREATE OR REPLACE FUNCTION app.incoming_quantity(tenant uuid, product uuid, warehouse uuid) RETURNS numeric
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(sum(greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)), 0)
    FROM app.purchase_order_lines l
    JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
    WHERE l.tenant_id = tenant AND l.product_id = product AND po.warehouse_id = warehouse
      AND po.status IN ('draft', 'issued', 'partially_received')
      AND (po.status <> 'draft' OR app.draft_counts(po.tenant_id, po.id, po.supplier_id, po.warehouse_id))
$$;

CREATE OR REPLACE FUNCTION app.alert_cancelled_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(NEW.warehouse_id),
                                array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
    FROM app.purchase_order_lines l
    WHERE l.tenant_id = NEW.tenant_id AND l.purchase_order_id = NEW.id
      AND (OLD.status <> 'draft' OR app.draft_counts(OLD.tenant_id, OLD.id, OLD.supplier_id, OLD.warehouse_id));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION app.alert_moved_orders() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(o.warehouse_id),
                                array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
    FROM old_orders o
    JOIN new_orders n ON n.tenant_id = o.tenant_id AND n.id = o.id
    JOIN app.purchase_order_lines l ON l.tenant_id = o.tenant_id AND l.purchase_order_id = o.id
    WHERE n.warehouse_id IS DISTINCT FROM o.warehouse_id
      AND o.status IN ('draft', 'issued', 'partially_received')
      AND (o.status <> 'draft' OR app.draft_counts(o.tenant_id, o.id, o.supplier_id, o.warehouse_id));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION app.alert_lost_incoming_lines() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(po.warehouse_id),
                                    array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
        FROM old_lines l
        JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
        WHERE po.status IN ('draft', 'issued', 'partially_received')
          AND (po.status <> 'draft' OR app.draft_counts(po.tenant_id, po.id, po.supplier_id, po.warehouse_id));
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
              AND (po.status <> 'draft' OR app.draft_counts(po.tenant_id, po.id, po.supplier_id, po.warehouse_id))
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
