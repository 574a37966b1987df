-- A purchase-order line closed with nothing received (its backorder closed, or cancelled in an ERP) bought
-- nothing, so its price is no price paid: the delivery history leaves it out (0128), the last price paid passes
-- it over, and so does spend. The price history still read it as an observation: ten orders at 10.00 and then a
-- line cancelled at 25.00 read a last price of 25.00, a 150% shock, in market risk's volatility and trend and in
-- the flags on new lines against earlier prices. A line closed after part of it came keeps its price. A view: no
-- stored rows to repair.
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
WHERE po.status IN ('issued', 'partially_received', 'received') AND l.unit_price > 0
  -- A line closed with nothing received (its backorder closed, or cancelled in the ERP) was never bought.
  AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base);
