-- A warehouse's time zone (IANA name, as a member profile's): demand is counted per day and week in the
-- warehouse's own calendar, not UTC's. Until now an issue at 19:00 in Los Angeles (03:00 UTC the next day)
-- counted on the next day's bar, smearing the weekday profile the forecasts learn from. Existing warehouses keep
-- UTC, so their history does not move. The check keeps out a name the database cannot convert to (the API checks
-- the IANA list first; this stops one written by SQL from breaking every forecast of its tenant).
CREATE FUNCTION app.is_time_zone(name text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;

ALTER TABLE app.warehouses
    ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
        CONSTRAINT warehouses_timezone_known CHECK (length(timezone) <= 64 AND app.is_time_zone(timezone));

GRANT EXECUTE ON FUNCTION app.is_time_zone(text) TO authenticated;
