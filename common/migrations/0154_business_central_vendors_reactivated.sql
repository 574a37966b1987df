-- Business Central vendors synced before 2026-12-07 were all inactive: the API sends a vendor's blank `blocked`
-- as "_x0020_", read as blocked. The reading is right since, but a map from before 0148 (erp_active null) takes
-- a deactivation and no activation, and the sync is incremental (lastModifiedDateTime), so such a vendor stayed
-- inactive: one Business Central never edits again is never read again, and one it edits had its flag stamped
-- without writing it. Each such map is given the flag the old reading sent (erp_active false, which it wrote),
-- and no fingerprint, and its connector's suppliers are read again from the start once: a vendor not blocked for
-- All is then a change of the ERP's flag to true and is active again; one blocked for All stays inactive.
-- A supplier deactivated here in that time is reactivated as well: the old reading left it indistinguishable.
WITH repaired AS (
    UPDATE app.integration_external_ids m
    SET erp_active = false, fingerprint = NULL
    FROM app.integration_connectors c
    WHERE c.tenant_id = m.tenant_id AND c.id = m.connector_id
      AND c.kind = 'dynamics' AND m.entity = 'suppliers' AND m.erp_active IS NULL
    RETURNING m.tenant_id, m.connector_id
)
UPDATE app.integration_sync_state s
SET cursor = NULL, updated_at = now()
FROM (SELECT DISTINCT tenant_id, connector_id FROM repaired) r
WHERE s.tenant_id = r.tenant_id AND s.connector_id = r.connector_id
  AND s.entity = 'suppliers' AND s.cursor IS NOT NULL;
