-- Reservations expire: a hold past its expires_at stops counting against `available` when stock is read
-- (the view below), and is released for good by app.release_expired_reservations (the write paths call it
-- for the level they touch; the periodic job `python -m deployments.maintenance_job` for every tenant).

ALTER TABLE app.reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE app.reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('active', 'released', 'fulfilled', 'expired'));
CREATE INDEX reservations_expiry_idx ON app.reservations (expires_at) WHERE status = 'active';

-- Marks the expired active holds (of one level, or all the caller can see) as expired and takes exactly their
-- quantities off `reserved`, in one statement: on hand is untouched and the ledger needs no movement, since a
-- hold never moved stock. SECURITY INVOKER: under row-level security it only reaches the caller's tenant.
CREATE FUNCTION app.release_expired_reservations(p_product uuid DEFAULT NULL, p_warehouse uuid DEFAULT NULL)
RETURNS integer LANGUAGE sql AS $$
    WITH expired AS (
        UPDATE app.reservations SET status = 'expired', updated_at = now()
        WHERE status = 'active' AND expires_at <= now()
          AND (p_product IS NULL OR product_id = p_product)
          AND (p_warehouse IS NULL OR warehouse_id = p_warehouse)
        RETURNING tenant_id, product_id, warehouse_id, quantity
    ), held AS (
        SELECT tenant_id, product_id, warehouse_id, sum(quantity) AS quantity, count(*) AS holds
        FROM expired GROUP BY tenant_id, product_id, warehouse_id
    ), released AS (
        UPDATE app.stock_levels s SET reserved = s.reserved - held.quantity, updated_at = now()
        FROM held
        WHERE s.tenant_id = held.tenant_id AND s.product_id = held.product_id AND s.warehouse_id = held.warehouse_id
        RETURNING held.holds
    )
    SELECT coalesce(sum(holds), 0)::integer FROM released
$$;
GRANT EXECUTE ON FUNCTION app.release_expired_reservations(uuid, uuid) TO authenticated;

-- Reads see expired holds as released even before the job runs.
CREATE OR REPLACE VIEW app.stock_level_details WITH (security_invoker = true) AS
SELECT s.id,
       s.product_id,
       p.sku,
       p.name AS product_name,
       p.unit_of_measure,
       s.warehouse_id,
       w.code AS warehouse_code,
       s.on_hand,
       (s.reserved - coalesce(x.quantity, 0))::numeric(18, 4) AS reserved,
       (s.available + coalesce(x.quantity, 0))::numeric(18, 4) AS available,
       s.updated_at
FROM app.stock_levels s
JOIN app.products p ON p.tenant_id = s.tenant_id AND p.id = s.product_id
JOIN app.warehouses w ON w.tenant_id = s.tenant_id AND w.id = s.warehouse_id
LEFT JOIN LATERAL (
    SELECT sum(r.quantity) AS quantity FROM app.reservations r
    WHERE r.tenant_id = s.tenant_id AND r.product_id = s.product_id AND r.warehouse_id = s.warehouse_id
      AND r.status = 'active' AND r.expires_at <= now()
) x ON true;
