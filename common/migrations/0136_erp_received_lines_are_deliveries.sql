-- Lines an ERP receives have no receipt of Chainsight's (the ERP holds the goods-receipt documents; stock comes
-- from its stock sync), so the delivery history read a fully received ERP line as still open: late for ever once
-- its promised date passed, in its supplier's on-time rate and overdue count and in the training labels. A sync
-- now stamps the moment it finds a line's received quantity grown (erp_received_at: the receipt happened since
-- the sync before), which serves as the delivery date where no receipt of Chainsight's gives one; a line an ERP
-- had received before any sync saw it is left out, its delivery date unknown.
ALTER TABLE app.purchase_order_lines ADD COLUMN erp_received_at timestamptz;

CREATE OR REPLACE VIEW app.risk_delivery_history WITH (security_invoker = true) AS
SELECT d.id,
       'import'::text AS source,
       d.supplier_id,
       d.product_id,
       coalesce(d.category, p.category) AS category,
       coalesce(d.origin_country, s.country::char(2)) AS origin_country,
       d.shipment_mode,
       d.order_date,
       d.promised_date,
       d.delivered_date,
       d.quantity,
       coalesce(d.quantity_received, CASE WHEN d.delivered_date IS NOT NULL THEN d.quantity END) AS quantity_received,
       d.quantity_rejected,
       d.value,
       NULL::uuid AS purchase_order_id,
       d.currency
FROM app.supplier_deliveries d
JOIN app.suppliers s ON s.tenant_id = d.tenant_id AND s.id = d.supplier_id
LEFT JOIN app.products p ON p.tenant_id = d.tenant_id AND p.id = d.product_id
UNION ALL
SELECT l.id,
       'purchase_order'::text,
       po.supplier_id,
       l.product_id,
       p.category,
       s.country::char(2),
       coalesce(rp.default_shipment_mode, 'road'),
       (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date,
       greatest(po.expected_date, (coalesce(po.issued_at, po.created_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date),
       CASE WHEN l.received_base + l.cancelled_base >= l.quantity_base THEN
            (coalesce(last_receipt.at, l.erp_received_at) AT TIME ZONE coalesce(w.timezone, 'UTC'))::date
       END,
       l.quantity_base,
       l.received_base,
       0::numeric,
       l.quantity * l.unit_price,
       po.id,
       po.currency::char(3)
FROM app.purchase_order_lines l
JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
JOIN app.suppliers s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
JOIN app.warehouses w ON w.tenant_id = po.tenant_id AND w.id = po.warehouse_id
JOIN app.products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
LEFT JOIN app.supplier_risk_profiles rp ON rp.tenant_id = po.tenant_id AND rp.supplier_id = po.supplier_id
CROSS JOIN LATERAL (SELECT max(r.received_at) AS at
                    FROM app.purchase_receipt_lines rl
                    JOIN app.purchase_receipts r ON r.tenant_id = rl.tenant_id AND r.id = rl.receipt_id
                    WHERE rl.tenant_id = l.tenant_id AND rl.purchase_order_line_id = l.id) last_receipt
WHERE po.status IN ('issued', 'partially_received', 'received') AND po.expected_date IS NOT NULL
  -- A line closed with nothing received (its backorder closed, or cancelled in the ERP) was never delivered.
  AND NOT (l.received_base = 0 AND l.received_base + l.cancelled_base >= l.quantity_base)
  -- A line an ERP had received before any sync saw it: when it came is not known, so it is no evidence.
  AND NOT (l.received_base + l.cancelled_base >= l.quantity_base
           AND last_receipt.at IS NULL AND l.erp_received_at IS NULL);

