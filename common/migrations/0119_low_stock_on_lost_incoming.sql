-- Projected stock also falls when an open order will bring less: its backorder is closed, a line's quantity is
-- lowered, or a line is removed. Those raise the low-stock notification too (0117 covered movements,
-- reservations and cancelled orders). Only the change the statement made to quantity and cancellation counts:
-- a receipt moves stock from incoming to on hand and changes nothing projected.
CREATE FUNCTION app.alert_lost_incoming() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    before_open numeric;
    after_open numeric := 0;
    line record;
    warehouse uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        line := OLD;
    ELSE
        line := NEW;
    END IF;
    SELECT po.warehouse_id INTO warehouse
    FROM app.purchase_orders po
    WHERE po.tenant_id = line.tenant_id AND po.id = line.purchase_order_id
      AND po.status IN ('draft', 'issued', 'partially_received');
    IF warehouse IS NULL THEN
        RETURN NULL;  -- the order brings nothing (cancelled, received) or went with the line
    END IF;
    before_open := greatest(OLD.quantity_base - OLD.received_base - OLD.cancelled_base, 0);
    IF TG_OP = 'UPDATE' THEN
        after_open := greatest(NEW.quantity_base - OLD.received_base - NEW.cancelled_base, 0);
    END IF;
    PERFORM app.alert_low_stock(ARRAY[line.tenant_id], ARRAY[line.product_id], ARRAY[warehouse],
                                ARRAY[after_open - before_open]);
    RETURN NULL;
END
$$;

CREATE TRIGGER purchase_order_lines_lost_incoming_alert AFTER UPDATE OF quantity_base, cancelled_base
    ON app.purchase_order_lines
    FOR EACH ROW WHEN (NEW.quantity_base < OLD.quantity_base OR NEW.cancelled_base > OLD.cancelled_base)
    EXECUTE FUNCTION app.alert_lost_incoming();
CREATE TRIGGER purchase_order_lines_removed_alert AFTER DELETE ON app.purchase_order_lines
    FOR EACH ROW EXECUTE FUNCTION app.alert_lost_incoming();
