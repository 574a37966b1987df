-- 0158's trigger on app.suppliers deleted the certificate-expiry alert states of a supplier whose active flag
-- changed. The early-warning scan, one transaction, holds each certificate's state it observed until it commits;
-- an ERP page deactivating several suppliers in one transaction took those rows in another order: a deadlock, or
-- at best a supplier PATCH waiting for the whole scan. The scan now deletes the states of the certificates it did
-- not observe (of inactive suppliers) itself, so the first scan after a reactivation judges them afresh as before.
-- 0158's one-time cleanup of stored rows stands; a state written since by a scan beside a deactivation goes at the
-- next scan. IF EXISTS, so the file can be applied again (its test does).
DROP TRIGGER IF EXISTS suppliers_forget_certificate_alerts ON app.suppliers;
DROP FUNCTION IF EXISTS app.forget_certificate_alerts();
