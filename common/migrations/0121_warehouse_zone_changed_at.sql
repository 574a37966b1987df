-- When a warehouse's time zone last changed. A champion forecast stored before the change was computed on the
-- old calendar's days (UTC's, for a warehouse given its zone after 0120), and the API served it as fresh until
-- the next batch run: `fresh_stored_forecast` now refits instead when the zone changed after the run began.
ALTER TABLE app.warehouses ADD COLUMN timezone_changed_at timestamptz;

CREATE FUNCTION app.stamp_warehouse_zone_change() RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    NEW.timezone_changed_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER warehouses_stamp_zone_change BEFORE UPDATE OF timezone ON app.warehouses
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION app.stamp_warehouse_zone_change();
