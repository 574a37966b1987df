-- app.integration_error_key (0163) masked every run of six or more digits, so failures about different orders read
-- as one repeated failure and the second went unnotified: Odoo's "P123456 (id 123456) ... hidden" and P123999, SAP's
-- "Purchase order 4500000017 does not exist" and 4500000023. A long number is now masked only where a label says it
-- is per-request noise (request, trace, correlation, activity, client-request or error, then id/no/number, then
-- ':', '#', '=' or a space, then a value with a digit: NetSuite's "Error Id: lh8u1vaq1b6tqoa0ptdwh"; after the label
-- alone only a value of 12 or more characters, a gateway's "request 20261207221143123", so "trace 12 of order ..."
-- and "activity 12345678" stay as written); UUIDs, runs of 16 or more hex digits and dates with a time stay masked as
-- before. Microsoft's "Trace ID: <uuid> ... Timestamp: <time>" tail still masks equal.
CREATE OR REPLACE FUNCTION app.integration_error_key(p_error text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog AS $$
    SELECT btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(p_error,
        '[[:xdigit:]]{8}-[[:xdigit:]]{4}-[[:xdigit:]]{4}-[[:xdigit:]]{4}-[[:xdigit:]]{12}', '<id>', 'g'),
        '\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?', '<time>', 'gi'),
        '\m[[:xdigit:]]{16,}\M', '<id>', 'g'),
        '\m(client-request|request|trace|correlation|activity|error)([ _-]?(id|no|number)\.?)[:#= ]+\S*\d\S*', '\1 <id>',
        'gi'),
        '\m(request|trace|correlation|activity)[:#= ]+(?=\S*\d)\S{12,}', '\1 <id>', 'gi'),
        '\s+', ' ', 'g'))
$$;
