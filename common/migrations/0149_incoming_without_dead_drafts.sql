-- A draft counts as incoming only while it can be issued as it stands: its supplier, its warehouse and every
-- product on its lines active (inventory/purchasing_status.py refuse_inactive_references: issuing or pushing one
-- that is not is 409 inactive_<kind>). Until now every draft counted, so once its supplier was deactivated (and the
-- rule moved to another) its quantity still held projected stock up: no reorder proposal, no low-stock alert, and
-- the position and the copilot's suggestions counted stock that could never come. Issued and partially received
-- orders count whatever was deactivated since: they are out. As in 0117 otherwise (volatility, grants and the
-- invoker's row-level security are kept by CREATE OR REPLACE).
CREATE OR REPLACE FUNCTION app.incoming_quantity(tenant uuid, product uuid, warehouse uuid) RETURNS numeric
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(sum(greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)), 0)
    FROM app.purchase_order_lines l
    JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
    WHERE l.tenant_id = tenant AND l.product_id = product AND po.warehouse_id = warehouse
      AND po.status IN ('draft', 'issued', 'partially_received')
      AND (po.status <> 'draft' OR NOT EXISTS (
              SELECT FROM app.suppliers s WHERE s.id = po.supplier_id AND NOT s.active
              UNION ALL
              SELECT FROM app.warehouses w WHERE w.id = po.warehouse_id AND NOT w.active
              UNION ALL
              SELECT FROM app.purchase_order_lines o JOIN app.products p ON p.id = o.product_id
              WHERE o.tenant_id = po.tenant_id AND o.purchase_order_id = po.id AND NOT p.active))
$$;
