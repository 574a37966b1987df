-- A line's first receipt in an ERP, beside its last (erp_received_at, 0136). A sync stamps erp_received_at each
-- time it finds the line's received quantity grown, so a line received in two parts read its completing sync's
-- time, and the supplier's lead time counted from it (overstated, and longer once the order completed). The
-- delivery history still dates a line by its last stamp; the lead time reads this one, set once, by the sync
-- that first finds the received quantity above 0.
--
-- Existing lines keep the one stamp they have: the earlier ones are lost. Reads and writes go through the
-- table's grants and row-level security (0010).
ALTER TABLE app.purchase_order_lines ADD COLUMN erp_first_received_at timestamptz;

UPDATE app.purchase_order_lines SET erp_first_received_at = erp_received_at WHERE erp_received_at IS NOT NULL;
