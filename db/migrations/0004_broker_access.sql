-- Who may speak to the broker. Mosquitto reads a password file and an ACL file that
-- `yiwang broker sync` writes from these tables; the secrets themselves are never stored.

-- A device publishes as itself: its MQTT username is its registry id, and it may publish only
-- to its own topic. The hash is in Mosquitto's own format (PBKDF2-SHA512, "$7$...").
CREATE TABLE device_credential (
    device_id      text        PRIMARY KEY,
    device_kind    text        NOT NULL CHECK (device_kind IN ('meter', 'vehicle')),
    password_hash  text        NOT NULL CHECK (password_hash LIKE '$7$%'),
    issued_at      timestamptz NOT NULL DEFAULT now()
);

-- The platform's own clients: collectors read every device topic (also through $share groups),
-- gateways (a JT/T 808 gateway, a meter concentrator's uplink, the simulators) publish for many
-- devices, the API reads positions for the live map, an observer (a person, a test) reads everything.
CREATE TABLE service_account (
    username       text        PRIMARY KEY,
    roles          text[]      NOT NULL CHECK (roles <@ ARRAY['collector', 'gateway', 'api', 'observer'] AND cardinality(roles) > 0),
    password_hash  text        NOT NULL CHECK (password_hash LIKE '$7$%'),
    created_at     timestamptz NOT NULL DEFAULT now()
);
