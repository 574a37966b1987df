-- A hold past its expiry stopped counting against stock at read time (0090), but the reservation itself still
-- read as "active" until the release job or the next write on its level ran: GET /reservations?status=active and
-- the copilot's "active reservations" listed holds that no longer held anything. Reads now go through this view,
-- where such a hold is "expired", as the job will record it.
CREATE VIEW app.reservation_details WITH (security_invoker = true) AS
SELECT r.id, r.tenant_id, r.product_id, r.warehouse_id, r.quantity,
       CASE WHEN r.status = 'active' AND r.expires_at <= now() THEN 'expired' ELSE r.status END AS status,
       r.reference, r.expires_at, r.created_by, r.created_at, r.updated_at
FROM app.reservations r;

GRANT SELECT ON app.reservation_details TO authenticated;
