-- A deactivated supplier keeps no certificate-expiry alert state. The early-warning scan judges the certificates
-- of active suppliers only, so a state raised before the deactivation stood on, never cleared: once reactivated,
-- its certificate, still expiring, alerted no one (the state said the alert was already up). Changing a supplier's
-- active flag now deletes the states of its certificates, so the next scan after a reactivation judges them
-- afresh; a trigger, so that ERP syncs that deactivate or reactivate suppliers do the same as the API. Clearing on
-- reactivation too drops a state a scan running beside the deactivation wrote from its earlier read.
-- CREATE OR REPLACE throughout, so the file can be applied again (its test does).
CREATE OR REPLACE FUNCTION app.forget_certificate_alerts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM app.risk_alert_state a
    USING app.supplier_certifications c
    WHERE c.tenant_id = NEW.tenant_id AND c.supplier_id = NEW.id
      AND a.tenant_id = c.tenant_id AND a.kind = 'certification_expiry' AND a.subject_id = c.id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER suppliers_forget_certificate_alerts AFTER UPDATE OF active ON app.suppliers
    FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active) EXECUTE FUNCTION app.forget_certificate_alerts();

-- States left standing by suppliers deactivated before this migration.
DELETE FROM app.risk_alert_state a
USING app.supplier_certifications c
JOIN app.suppliers s ON s.tenant_id = c.tenant_id AND s.id = c.supplier_id
WHERE NOT s.active
  AND a.tenant_id = c.tenant_id AND a.kind = 'certification_expiry' AND a.subject_id = c.id;
