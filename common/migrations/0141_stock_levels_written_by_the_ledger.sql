-- A level's on_hand is the sum of its ledger: only the ledger's trigger (app.apply_stock_movement) writes it.
-- Until now the request role's INSERT and UPDATE grants on app.stock_levels (0001) reached every column and
-- row-level security checks only the tenant, so `UPDATE app.stock_levels SET on_hand = 1000`, a level inserted
-- with stock, or one moved to another warehouse was read as stock no movement accounts for.
--
-- A trigger rather than column grants: the ledger's trigger runs as the caller (SECURITY INVOKER, under the
-- caller's row-level security), so the request role needs INSERT and UPDATE of on_hand for a movement to land.
-- `reserved` stays writable: reservations change it with their own UPDATE (inventory/reservations.py and
-- app.release_expired_reservations), not from a trigger.
CREATE FUNCTION app.refuse_level_write_outside_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Depth 1 is a statement on app.stock_levels itself; the ledger's AFTER INSERT trigger, the one trigger of
    -- the schema that writes levels, runs its INSERT and UPDATE at depth 2.
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.tenant_id, NEW.product_id, NEW.warehouse_id)
                            IS DISTINCT FROM (OLD.tenant_id, OLD.product_id, OLD.warehouse_id) THEN
        RAISE EXCEPTION 'a stock level stays on its product and warehouse: post a transfer or stock movements'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (TG_OP = 'INSERT' AND NEW.on_hand <> 0)
       OR (TG_OP = 'UPDATE' AND NEW.on_hand IS DISTINCT FROM OLD.on_hand) THEN
        RAISE EXCEPTION 'stock_levels.on_hand is written by the ledger only: post a stock movement'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER stock_levels_written_by_the_ledger BEFORE INSERT OR UPDATE ON app.stock_levels
    FOR EACH ROW EXECUTE FUNCTION app.refuse_level_write_outside_ledger();
