-- An outbound shipment holds its stock from the moment it is created (inventory/shipment_holds.py), as Odoo's
-- delivery order reserves at confirmation and its validation consumes the reservation: until 2026-12-08 a shipment
-- only stored its lines, so goods handed to the carrier still counted as available (another hold took them, and the
-- delivery was then refused), and a shipment of stock held for an order issued it twice (at delivery, and again when
-- the order's hold was fulfilled). Each line now names the hold it ships: one the shipment placed (`hold_placed`,
-- released if the shipment is cancelled) or an order's own hold it was given (back to that order if cancelled).
ALTER TABLE app.shipment_lines
    ADD COLUMN reservation_id uuid REFERENCES app.reservations (id),
    ADD COLUMN hold_placed    boolean NOT NULL DEFAULT false;
CREATE INDEX shipment_lines_reservation_idx ON app.shipment_lines (reservation_id) WHERE reservation_id IS NOT NULL;

-- A shipment can be cancelled (POST /shipments/{id}/cancel) until it is delivered; it was never possible before.
ALTER TABLE app.shipments DROP CONSTRAINT shipments_status_check;
ALTER TABLE app.shipments ADD CONSTRAINT shipments_status_check
    CHECK (status IN ('created', 'picked_up', 'in_transit', 'delayed', 'delivered', 'exception', 'cancelled'));
