-- Who may speak to the broker, as views that EMQX's PostgreSQL authenticator and authorizer query directly (issue 19:
-- a province's EMQX cluster instead of one Mosquitto; broker/emqx/emqx.conf holds the queries). The rules are those
-- of Mosquitto's password and ACL files (broker/access.py render, which `yiwang broker sync` writes from the same
-- tables): tests/broker/test_emqx.py holds the two to each other. The role EMQX logs in as may read
-- mqtt_user and mqtt_acl and nothing else (db/roles.py GRANTS["emqx"]); a view reads its tables as their owner.

-- The devices that may log in, for either broker: a credential of a device the registry still holds, and not of a
-- vehicle that left the fleet (auctioned or scrapped: its terminal may be in anyone's hands). db/broker_accounts.py
-- reads Mosquitto's devices from here too.
CREATE VIEW broker_device AS
SELECT c.device_id, c.device_kind, c.password_hash
  FROM device_credential c
 WHERE (c.device_kind = 'meter' AND EXISTS (SELECT 1 FROM meter m WHERE m.id = c.device_id))
    OR (c.device_kind = 'vehicle'
        AND EXISTS (SELECT 1 FROM vehicle v WHERE v.id = c.device_id AND v.lifecycle <> 'retired'));

-- One row per account, as EMQX's authenticator wants it: `password_hash` the PBKDF2-SHA512 digest in lower-case hex
-- (EMQX compares hex), `salt` the salt's bytes (bytea: EMQX hashes with the column's bytes as they come), from the
-- Mosquitto hash `$7$<iterations>$<salt base64>$<digest base64>` (broker/access.py mosquitto_hash), so one secret
-- works at either broker. The iteration count is EMQX's configuration (101, Mosquitto's default, for every hash
-- `yiwang broker` writes). Left out, as render leaves them out of Mosquitto's files (domain/ids.py): a device id that
-- is not a user name, starts with `yiwang-` (the services' client ids) or is a service account's name; a service
-- account's name that is not a user name.
CREATE VIEW mqtt_user AS
SELECT d.device_id AS username,
       'device'::text AS kind,
       encode(decode(split_part(d.password_hash, '$', 5), 'base64'), 'hex') AS password_hash,
       decode(split_part(d.password_hash, '$', 4), 'base64') AS salt,
       false AS is_superuser
  FROM broker_device d
 WHERE d.device_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'
   AND lower(d.device_id) NOT LIKE 'yiwang-%'
   AND NOT EXISTS (SELECT 1 FROM service_account s WHERE s.username = d.device_id)
UNION ALL
SELECT s.username,
       'service'::text,
       encode(decode(split_part(s.password_hash, '$', 5), 'base64'), 'hex'),
       decode(split_part(s.password_hash, '$', 4), 'base64'),
       false
  FROM service_account s
 WHERE s.username ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

-- What each account may do, as EMQX's authorizer wants it: `allow` rows only (anything else matches no row and EMQX's
-- `authorization.no_match = deny` refuses it). `topic` is under the topic root (YIWANG_MQTT_TOPIC_ROOT, which the
-- query in broker/emqx/emqx.conf puts in front) where `under_root`, else whole. A device publishes to its own topic
-- and subscribes to nothing; a service has the grants of its roles (broker/access.py ROLES; Mosquitto's `read` is
-- EMQX's `subscribe`, `write` its `publish`); EMQX checks a `$share/<group>/` subscription on the filter after it.
CREATE VIEW mqtt_acl AS
SELECT u.username, 'allow'::text AS permission, 'publish'::text AS action, true AS under_root,
       d.device_kind || '/' || d.device_id || '/' || f.family AS topic
  FROM mqtt_user u
  JOIN broker_device d ON d.device_id = u.username
  JOIN (VALUES ('meter', 'reading'), ('vehicle', 'position')) AS f (device_kind, family)
    ON f.device_kind = d.device_kind
 WHERE u.kind = 'device'
UNION ALL
SELECT u.username, 'allow', g.action, g.under_root, g.topic
  FROM mqtt_user u
  JOIN service_account s ON s.username = u.username
 CROSS JOIN LATERAL unnest(s.roles) AS r (role)
  JOIN (VALUES ('collector', 'subscribe', true, 'meter/+/reading'),
               ('collector', 'subscribe', true, 'vehicle/+/position'),
               ('collector', 'subscribe', false, 'jt808/+/+/up'),
               ('gateway', 'publish', true, 'meter/+/reading'),
               ('gateway', 'publish', true, 'vehicle/+/position'),
               ('api', 'subscribe', true, 'vehicle/+/position'),
               ('observer', 'subscribe', true, '#'),
               ('emqx_gateway', 'publish', false, 'jt808/+/+/up')) AS g (role, action, under_root, topic)
    ON g.role = r.role
 WHERE u.kind = 'service';
