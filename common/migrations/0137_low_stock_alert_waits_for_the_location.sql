-- Two writers changing one location's projected stock at once (an issue and the cancel of an order bringing the
-- product there) each tested the crossing below the minimum on its own snapshot, without the other's change:
-- 30 -> 27 and 30 -> 20 never cross 19, so neither notified, and the 17 they left was never reported. The alert
-- now takes a transaction lock per location with an active rule before it reads, so the second writer waits for
-- the first to commit and reads what it left (a statement inside a function reads a fresh snapshot). The keys
-- are taken in one sorted pass, so two writers of several locations cannot wait on each other in a circle.
ALTER FUNCTION app.alert_low_stock(uuid[], uuid[], uuid[], numeric[]) RENAME TO alert_low_stock_unlocked;

CREATE FUNCTION app.alert_low_stock(tenants uuid[], products uuid[], warehouses uuid[], changes numeric[])
    RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(keys.key)
    FROM (SELECT DISTINCT hashtextextended(format('low-stock:%s:%s:%s', c.tenant_id, c.product_id, c.warehouse_id), 0)
                 AS key
          FROM unnest(tenants, products, warehouses) AS c (tenant_id, product_id, warehouse_id)
          JOIN app.reorder_rules r
            ON r.tenant_id = c.tenant_id AND r.product_id = c.product_id AND r.warehouse_id = c.warehouse_id
           AND r.active
          ORDER BY 1) keys;
    PERFORM app.alert_low_stock_unlocked(tenants, products, warehouses, changes);
END
$$;
GRANT EXECUTE ON FUNCTION app.alert_low_stock(uuid[], uuid[], uuid[], numeric[]) TO authenticated;
