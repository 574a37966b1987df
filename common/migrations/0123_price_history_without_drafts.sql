-- Purchase prices: imported observations plus the price of every purchase-order line sent to the supplier.
-- 0030 took every order not cancelled, so a draft nobody sent (or a typo in one) entered the product's price
-- series as a purchase: a shock, a volatility and a median the other lines were flagged against.
CREATE OR REPLACE VIEW app.risk_price_history WITH (security_invoker = true) AS
SELECT h.supplier_id, h.product_id, coalesce(h.category, p.category) AS category, h.observed_on, h.unit_price,
       h.currency, 'import'::text AS source, NULL::uuid AS purchase_order_line_id
FROM app.supplier_price_history h
LEFT JOIN app.products p ON p.tenant_id = h.tenant_id AND p.id = h.product_id
UNION ALL
SELECT po.supplier_id, l.product_id, p.category, coalesce(po.issued_at, po.created_at)::date,
       l.unit_price / l.uom_factor, po.currency::char(3), 'purchase_order', l.id
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE po.status IN ('issued', 'partially_received', 'received') AND l.unit_price > 0;
