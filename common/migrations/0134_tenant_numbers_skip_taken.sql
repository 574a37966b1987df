-- A number an ERP sync brought in, in this project's own format (an ERP numbering PO-000007), was given again by
-- the counter: the insert failed on the unique number, and every retry too (the rollback put the counter back).
-- The next number now skips those already taken in the tenant.
CREATE OR REPLACE FUNCTION app.assign_tenant_number() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = app, pg_temp AS $$
DECLARE
    next_value bigint;
    taken boolean;
BEGIN
    IF NEW.number IS NULL THEN
        LOOP
            INSERT INTO app.tenant_counters AS c (tenant_id, name, last_value) VALUES (NEW.tenant_id, TG_ARGV[0], 1)
            ON CONFLICT (tenant_id, name) DO UPDATE SET last_value = c.last_value + 1
            RETURNING last_value INTO next_value;
            NEW.number := TG_ARGV[1] || lpad(next_value::text, 6, '0');
            EXECUTE format('SELECT EXISTS (SELECT FROM app.%I WHERE tenant_id = $1 AND number = $2)', TG_TABLE_NAME)
                INTO taken USING NEW.tenant_id, NEW.number;
            EXIT WHEN NOT taken;
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;
