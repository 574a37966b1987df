-- The stock.changed event names each level's on hand and available as GET /stock-levels does: a hold past its
-- expiry is not reserved any more (0090's details view). It read the table, which keeps such a hold until the
-- release job runs (every 5 minutes): a receipt of 5 onto 10 with an expired hold of 4 announced available 11
-- while the API said 15. As in 0117 otherwise.

CREATE OR REPLACE FUNCTION app.announce_stock_movements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT m.tenant_id,
               count(*) AS movements,
               (SELECT coalesce(jsonb_agg(x), '[]') FROM (
                    SELECT s.product_id, s.warehouse_id, sum(s.quantity) AS change, l.on_hand, l.available
                    FROM moved s
                    -- The details view, as GET /stock-levels reads it (ids are unique across tenants).
                    JOIN app.stock_level_details l ON l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id
                    WHERE s.tenant_id = m.tenant_id
                    GROUP BY s.product_id, s.warehouse_id, l.on_hand, l.available
                    LIMIT 25) x) AS levels
        FROM moved m
        GROUP BY m.tenant_id
    LOOP
        PERFORM pg_notify('chainsight_events', jsonb_build_object(
            'tenant_id', t.tenant_id, 'type', 'stock.changed', 'at', now(),
            'data', jsonb_build_object('movements', t.movements, 'levels', t.levels))::text);
    END LOOP;

    PERFORM app.alert_low_stock(array_agg(s.tenant_id), array_agg(s.product_id), array_agg(s.warehouse_id),
                                array_agg(s.quantity))
    FROM moved s
    WHERE s.reservation_id IS NULL;
    RETURN NULL;
END
$$;
