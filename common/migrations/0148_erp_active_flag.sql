-- The active flag an ERP last sent for a product or supplier, beside its external id: a sync writes the row's
-- `active` only when the ERP's own flag changes. Until now every change to the record wrote it, so a supplier or
-- product deactivated in Chainsight was active again after the ERP's next unrelated edit (a vendor's e-mail), and
-- no one was told.
--
-- Null for other entities, and for a record mapped before this migration until the ERP next changes it: not
-- knowing the flag the ERP sent last, that sync writes a deactivation but not an activation. Reads and writes go
-- through the table's grants and row-level security (0050).
ALTER TABLE app.integration_external_ids ADD COLUMN erp_active boolean;
