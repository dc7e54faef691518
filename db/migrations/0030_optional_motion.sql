-- Speed, heading, odometer and ignition become optional in the position contract (docs/device-protocol.md): a
-- source of time and coordinates only (a taxi log, a phone) stores NULL rather than a made-up figure. Trips and
-- mileage then judge motion from the fixes (domain/trips.py rule 8) and say what they derived.
ALTER TABLE position ALTER COLUMN speed DROP NOT NULL;
ALTER TABLE position ALTER COLUMN heading DROP NOT NULL;
ALTER TABLE position ALTER COLUMN odometer DROP NOT NULL;
ALTER TABLE position ALTER COLUMN ignition DROP NOT NULL;
ALTER TABLE live_position ALTER COLUMN speed DROP NOT NULL;
ALTER TABLE live_position ALTER COLUMN heading DROP NOT NULL;
ALTER TABLE live_position ALTER COLUMN odometer DROP NOT NULL;
ALTER TABLE live_position ALTER COLUMN ignition DROP NOT NULL;

-- A packed fix keeps its 50 bytes: a figure not reported is NaN, an ignition not reported the byte 2 (0 off, 1 on,
-- as boolsend wrote it: hours packed before stay valid). Without the coalesce a NULL would make the whole fix NULL,
-- and string_agg would leave it out of its hour.
CREATE OR REPLACE FUNCTION track_fix(p "position") RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN timestamptz_send(p.time) || float8send(p.latitude) || float8send(p.longitude)
           || float4send(coalesce(p.speed, 'NaN')) || float4send(coalesce(p.heading, 'NaN'))
           || float8send(coalesce(p.odometer, 'NaN')) || coalesce(boolsend(p.ignition), '\x02'::bytea)
           || timestamptz_send(p.received_at) || boolsend(p.blind);

-- What of a trip came from motion rather than from the terminal (domain/trips.py rule 9: speed, ignition,
-- odometer), and of a vehicle's day the same of its trips together. The trip rules gained a threshold
-- (contradicted_kmh), so the stored basis no longer matches: `yiwang mileage rebuild` recounts every vehicle.
ALTER TABLE mileage_trip ADD COLUMN derived text[] NOT NULL DEFAULT '{}'
    CHECK (derived <@ ARRAY['speed', 'ignition', 'odometer']);
ALTER TABLE mileage_day ADD COLUMN derived text[] NOT NULL DEFAULT '{}';
