-- Odoo and Business Central order lines are synced at the price after the line's discount since 2026-12-07
-- (Odoo: price_unit less discount %, Business Central: directUnitCost less discountAmount per unit); before, at the
-- price before it. The syncs are incremental (Odoo write_date, Business Central lastModifiedDateTime), so an order
-- the ERP has not touched since was never read again: its lines kept the gross price, beside net ones in the price
-- history, market risk (a false -10% shock), spend and the last price paid. Each such connector's purchase orders
-- are read again once, from the start, as after a mapping change: an order whose lines now read differently is
-- rewritten (only its prices, when nothing else changed in the ERP: an order already where the ERP has it takes no
-- status step and announces nothing), and an unchanged one hashes to its stored fingerprint and costs no write.
UPDATE app.integration_sync_state s
SET cursor = NULL, updated_at = now()
FROM app.integration_connectors c
WHERE c.tenant_id = s.tenant_id AND c.id = s.connector_id
  AND c.kind IN ('odoo', 'dynamics') AND s.entity = 'purchase_orders' AND s.cursor IS NOT NULL;
