-- A purchase-order line's price is observed on the date its order was issued at the receiving warehouse, as the
-- delivery history dates the order (0136). 0123 took the database session's date (UTC): an order issued at 17:00
-- in Los Angeles on 1 March was a price of 2 March, and a draft priced that evening was compared with it as an
-- earlier price.
CREATE OR REPLACE VIEW app.risk_price_history WITH (security_invoker = true) AS
SELECT h.supplier_id, h.product_id, coalesce(h.category, p.category) AS category, h.observed_on, h.unit_price,
       h.currency, 'import'::text AS source, NULL::uuid AS purchase_order_line_id
FROM app.supplier_price_history h
LEFT JOIN app.products p ON p.tenant_id = h.tenant_id AND p.id = h.product_id
UNION ALL
SELECT po.supplier_id, l.product_id, p.category,
       (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date,
       l.unit_price / l.uom_factor, po.currency::char(3), 'purchase_order', l.id
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE po.status IN ('issued', 'partially_received', 'received') AND l.unit_price > 0;
