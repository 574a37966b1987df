-- Imported delivery history may not say how a line was shipped: keep that unknown (NULL) rather than
-- pretending it went by road, which mixed unknown lines into the road late rate.
ALTER TABLE app.supplier_deliveries ALTER COLUMN shipment_mode DROP NOT NULL;
ALTER TABLE app.supplier_deliveries ALTER COLUMN shipment_mode DROP DEFAULT;
