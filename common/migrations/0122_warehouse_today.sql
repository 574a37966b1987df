-- The date it is now at a warehouse, on its own calendar; ``fallback`` (the reader's date) where its zone is not
-- known. The one rule behind days late, days overdue, stock-out days and reorder proposals' expected dates
-- (0120), which four queries had each spelled out.
CREATE FUNCTION app.warehouse_today(zone text, fallback date) RETURNS date
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce((now() AT TIME ZONE zone)::date, fallback)
$$;
GRANT EXECUTE ON FUNCTION app.warehouse_today(text, date) TO authenticated;
