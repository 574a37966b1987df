-- The low-stock notification compared on-hand stock with a reorder rule's minimum, while the rule itself (the
-- reorder proposals, inventory/reorder.py, as Odoo's orderpoints and ERPNext's projected quantity) compares
-- projected stock: on hand + incoming (open purchase orders, drafts included) - reserved. So a buyer was told
-- "below its minimum" for stock already on order, and never for stock that reservations took. Now the
-- notification fires when projected stock crosses below the minimum: through stock movements (a movement that
-- fulfils a reservation changes nothing: the hold it releases was already counted), through a new or larger
-- reservation, and through a cancelled purchase order. One definition of incoming serves the triggers and the
-- Python reads (app.incoming_quantity).

CREATE FUNCTION app.incoming_quantity(tenant uuid, product uuid, warehouse uuid) RETURNS numeric
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(sum(greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)), 0)
    FROM app.purchase_order_lines l
    JOIN app.purchase_orders po ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id
    WHERE l.tenant_id = tenant AND l.product_id = product AND po.warehouse_id = warehouse
      AND po.status IN ('draft', 'issued', 'partially_received')
$$;
GRANT EXECUTE ON FUNCTION app.incoming_quantity(uuid, uuid, uuid) TO authenticated;

-- One notification per active rule whose location's projected stock was at or above the minimum before the
-- given changes (signed quantities by which they lowered or raised projected stock) and is below it after.
CREATE FUNCTION app.alert_low_stock(tenants uuid[], products uuid[], warehouses uuid[], changes numeric[])
    RETURNS void
    LANGUAGE plpgsql
AS $$
DECLARE
    alert record;
BEGIN
    FOR alert IN
        WITH changed AS (
            SELECT c.tenant_id, c.product_id, c.warehouse_id, sum(c.change) AS change
            FROM unnest(tenants, products, warehouses, changes) AS c (tenant_id, product_id, warehouse_id, change)
            GROUP BY c.tenant_id, c.product_id, c.warehouse_id
            HAVING sum(c.change) < 0
        ), located AS (
            SELECT c.*, p.sku, w.code AS warehouse_code, r.min_quantity,
                   coalesce(lv.on_hand, 0) AS on_hand, coalesce(lv.reserved, 0) AS reserved,
                   app.incoming_quantity(c.tenant_id, c.product_id, c.warehouse_id) AS incoming
            FROM changed c
            JOIN app.reorder_rules r
              ON r.tenant_id = c.tenant_id AND r.product_id = c.product_id AND r.warehouse_id = c.warehouse_id
             AND r.active
            JOIN app.products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id
            JOIN app.warehouses w ON w.tenant_id = c.tenant_id AND w.id = c.warehouse_id
            -- The details view: a hold past its expiry is not reserved any more (ids are unique across tenants).
            LEFT JOIN app.stock_level_details lv ON lv.product_id = c.product_id AND lv.warehouse_id = c.warehouse_id
        )
        SELECT *, on_hand + incoming - reserved AS projected FROM located
    LOOP
        CONTINUE WHEN NOT (alert.projected < alert.min_quantity
                           AND alert.projected - alert.change >= alert.min_quantity);
        INSERT INTO app.notifications (tenant_id, kind, title, data)
        VALUES (alert.tenant_id, 'low_stock',
                format('%s in %s is below its minimum: projected %s < %s (on hand %s, reserved %s, incoming %s)',
                       alert.sku, alert.warehouse_code, alert.projected::float8, alert.min_quantity::float8,
                       alert.on_hand::float8, alert.reserved::float8, alert.incoming::float8),
                jsonb_build_object('product_id', alert.product_id, 'warehouse_id', alert.warehouse_id,
                                   'projected', alert.projected, 'on_hand', alert.on_hand,
                                   'reserved', alert.reserved, 'incoming', alert.incoming,
                                   'min_quantity', alert.min_quantity));
        PERFORM pg_notify('chainsight_events', jsonb_build_object(
            'tenant_id', alert.tenant_id, 'type', 'alert', 'at', now(),
            'data', jsonb_build_object('kind', 'low_stock', 'product_id', alert.product_id,
                                       'warehouse_id', alert.warehouse_id, 'sku', alert.sku,
                                       'projected', alert.projected, 'on_hand', alert.on_hand,
                                       'min_quantity', alert.min_quantity))::text);
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION app.alert_low_stock(uuid[], uuid[], uuid[], numeric[]) TO authenticated;

-- As in 0011, with the alert on projected stock.
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
                    JOIN app.stock_levels l
                      ON l.tenant_id = s.tenant_id AND l.product_id = s.product_id AND l.warehouse_id = s.warehouse_id
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

CREATE FUNCTION app.alert_reserved_stock() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(ARRAY[NEW.tenant_id], ARRAY[NEW.product_id], ARRAY[NEW.warehouse_id],
                                ARRAY[OLD.reserved - NEW.reserved]);
    RETURN NULL;
END
$$;
CREATE TRIGGER stock_levels_reserved_alert AFTER UPDATE OF reserved ON app.stock_levels
    FOR EACH ROW WHEN (NEW.reserved > OLD.reserved) EXECUTE FUNCTION app.alert_reserved_stock();

CREATE FUNCTION app.alert_cancelled_order() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM app.alert_low_stock(array_agg(l.tenant_id), array_agg(l.product_id), array_agg(NEW.warehouse_id),
                                array_agg(-greatest(l.quantity_base - l.received_base - l.cancelled_base, 0)))
    FROM app.purchase_order_lines l
    WHERE l.tenant_id = NEW.tenant_id AND l.purchase_order_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER purchase_orders_cancelled_alert AFTER UPDATE OF status ON app.purchase_orders
    FOR EACH ROW WHEN (NEW.status = 'cancelled' AND OLD.status <> 'cancelled')
    EXECUTE FUNCTION app.alert_cancelled_order();
