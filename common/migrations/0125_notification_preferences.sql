-- A member's notification settings (member_profiles.notifications, merged field by field by PATCH /me) decide what
-- their list shows: until now they were stored and read by nothing. Turned off: in_app hides every notification,
-- low_stock the low-stock ones, shipments the shipment ones (shipment.*), purchase_orders the late-delivery
-- predictions on open orders (risk.late_delivery). A setting never given is on, as NotificationSettings says.
CREATE OR REPLACE VIEW app.my_notifications WITH (security_invoker = true) AS
SELECT n.id,
       n.kind,
       n.title,
       n.data,
       n.user_id IS NOT NULL AS personal,
       r.read_at,
       r.read_at IS NOT NULL AS read,
       n.created_at
FROM app.notifications n
LEFT JOIN app.notification_reads r
  ON r.tenant_id = n.tenant_id AND r.notification_id = n.id AND r.user_id = (SELECT app.current_user_id())
LEFT JOIN app.member_profiles p
  ON p.tenant_id = n.tenant_id AND p.user_id = (SELECT app.current_user_id())
WHERE coalesce((p.notifications ->> 'in_app')::boolean, true)
  AND coalesce((p.notifications ->> CASE
          WHEN n.kind = 'low_stock' THEN 'low_stock'
          WHEN n.kind LIKE 'shipment.%' THEN 'shipments'
          WHEN n.kind = 'risk.late_delivery' THEN 'purchase_orders'
      END)::boolean, true);
