-- Stock levels with the names people read (SKU, product name, unit, warehouse code). security_invoker
-- makes the view apply the caller's row-level security, not the view owner's.
CREATE VIEW app.stock_level_details WITH (security_invoker = true) AS
SELECT s.id,
       s.product_id,
       p.sku,
       p.name AS product_name,
       p.unit_of_measure,
       s.warehouse_id,
       w.code AS warehouse_code,
       s.on_hand,
       s.reserved,
       s.available,
       s.updated_at
FROM app.stock_levels s
JOIN app.products p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
JOIN app.warehouses w ON w.tenant_id = s.tenant_id AND w.id = s.warehouse_id;

GRANT SELECT ON app.stock_level_details TO authenticated;
