-- Views over members and notifications for keyset-paginated lists. security_invoker: the caller's
-- row-level security applies, not the view owner's.

-- Members of the caller's tenant (the foundation's members policy also shows the caller's own rows in
-- other tenants: filtered out here), with their profile's display name.
CREATE VIEW app.member_directory WITH (security_invoker = true) AS
SELECT m.user_id AS id,
       m.user_id,
       m.email,
       m.role,
       p.display_name,
       m.created_at
FROM app.members m
LEFT JOIN app.member_profiles p ON p.tenant_id = m.tenant_id AND p.user_id = m.user_id
WHERE m.tenant_id = (SELECT app.current_tenant_id())
  AND m.email IS DISTINCT FROM 'carrier-webhook@integrations.chainsight';
GRANT SELECT ON app.member_directory TO authenticated;

-- Notifications the caller can see, with the caller's own read state.
CREATE VIEW app.my_notifications WITH (security_invoker = true) AS
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
  ON r.tenant_id = n.tenant_id AND r.notification_id = n.id AND r.user_id = (SELECT app.current_user_id());
GRANT SELECT ON app.my_notifications TO authenticated;
