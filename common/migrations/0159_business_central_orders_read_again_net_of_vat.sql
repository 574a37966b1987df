-- Business Central order lines are synced net of VAT since 2026-12-07: on an order whose prices include VAT
-- (pricesIncludeTax, the vendor's "Prices Including VAT") directUnitCost includes the line's VAT, and the sync took
-- it as it was, beside other suppliers' prices net of tax (19% high at 19% VAT in the price history, market risk,
-- spend and the last price paid). The sync is incremental (lastModifiedDateTime), so an order BC has not touched
-- since is never read again: each Business Central connector's purchase orders are read again once, from the
-- start, as after a mapping change. An order whose lines now read differently is rewritten (only its prices, when
-- nothing else changed in BC: it takes no status step and announces nothing); an unchanged one, every order whose
-- prices exclude VAT among them, hashes to its stored fingerprint and costs no write.
UPDATE app.integration_sync_state s
SET cursor = NULL, updated_at = now()
FROM app.integration_connectors c
WHERE c.tenant_id = s.tenant_id AND c.id = s.connector_id
  AND c.kind = 'dynamics' AND s.entity = 'purchase_orders' AND s.cursor IS NOT NULL;
