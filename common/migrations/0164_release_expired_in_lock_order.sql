-- app.release_expired_reservations (baseline) took the levels of expired holds in whatever order its plan met them
-- (a hash aggregate over many holds: hash order), so the release job deadlocked with a receipt or delivery taking
-- the same levels by product, then warehouse (inventory.stock.lock_levels). It now releases level by level in that
-- order, each level as a write path releases it before touching it (its holds, then the level), so the job queues
-- behind such a writer as another writer would.
CREATE OR REPLACE FUNCTION app.release_expired_reservations(p_product uuid DEFAULT NULL, p_warehouse uuid DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    expired_level record;
    level_holds integer;
    released_holds integer := 0;
BEGIN
    FOR expired_level IN
        SELECT DISTINCT tenant_id, product_id, warehouse_id FROM app.reservations
        WHERE status = 'active' AND expires_at <= now()
          AND (p_product IS NULL OR product_id = p_product)
          AND (p_warehouse IS NULL OR warehouse_id = p_warehouse)
        ORDER BY product_id, warehouse_id, tenant_id
    LOOP
        WITH expired AS (
            UPDATE app.reservations r SET status = 'expired', updated_at = now()
            WHERE r.status = 'active' AND r.expires_at <= now() AND r.tenant_id = expired_level.tenant_id
              AND r.product_id = expired_level.product_id AND r.warehouse_id = expired_level.warehouse_id
            RETURNING r.quantity
        ), held AS (
            SELECT sum(quantity) AS quantity, count(*) AS holds FROM expired
        ), released AS (
            UPDATE app.stock_levels s SET reserved = s.reserved - held.quantity, updated_at = now()
            FROM held
            WHERE held.holds > 0 AND s.tenant_id = expired_level.tenant_id
              AND s.product_id = expired_level.product_id AND s.warehouse_id = expired_level.warehouse_id
            RETURNING held.holds
        )
        SELECT coalesce(sum(released.holds), 0)::integer INTO level_holds FROM released;
        released_holds := released_holds + level_holds;
    END LOOP;
    RETURN released_holds;
END
$$;
