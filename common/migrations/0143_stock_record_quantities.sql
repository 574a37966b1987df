-- Each ERP stock record's last reported quantity, beside its external id: a level several records of one
-- connector land on (two SAP plants mapped onto one warehouse) holds their sum, and a record gone from the
-- snapshot, or mapped to another warehouse, takes only its own quantity away. Until now each record set the level
-- to its own figure, so the last one read won (1 + 1 and 10 + 10 read 20, not 22), and every sync posted the
-- same pair of adjustments again.
--
-- Null for other entities, and for a stock record until the next snapshot brings its quantity (it then counts
-- as nothing beside the others). Reads and writes go through the table's grants and row-level security (0050).
ALTER TABLE app.integration_external_ids ADD COLUMN quantity numeric(18, 4);
