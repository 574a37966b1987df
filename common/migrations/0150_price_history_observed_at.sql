-- A purchase-order line's price carries the moment its order was issued (observed_at, the last column), so two
-- prices of one day read in the order they were set; 0138 carried the date alone, and the market-risk series
-- took same-day prices in whichever order the rows came back: an order issued at 08:00 at 10.00 and one issued at
-- 15:00 at 12.00 read a last price of 10.00 (-16.67%, no shock) when the evening row had been inserted first.
-- An imported price has a date only (NULL).
CREATE OR REPLACE VIEW app.risk_price_history WITH (security_invoker = true) AS
SELECT h.supplier_id, h.product_id, coalesce(h.category, p.category) AS category, h.observed_on, h.unit_price,
       h.currency, 'import'::text AS source, NULL::uuid AS purchase_order_line_id, NULL::timestamptz AS observed_at
FROM app.supplier_price_history h
LEFT JOIN app.products p ON p.tenant_id = h.tenant_id AND p.id = h.product_id
UNION ALL
SELECT po.supplier_id, l.product_id, p.category,
       (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date,
       l.unit_price / l.uom_factor, po.currency::char(3), 'purchase_order', l.id,
       coalesce(po.issued_at, po.created_at)
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE po.status IN ('issued', 'partially_received', 'received') AND l.unit_price > 0;
