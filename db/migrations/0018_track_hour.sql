-- Each vehicle's fixes packed an hour at a time, for tracks (api/dispatch/packed.py). A day of a vehicle is 8,640
-- rows of `position` on as many pages, interleaved with the rest of the fleet: reading them costs more than the
-- 50 ms a dispatcher's replay may take. Packed, it is 24 rows. Over hours that are over: the hour still filling
-- (and any hour a late batch has changed since it was packed) is read from `position` as it is.

-- One fix in PostgreSQL's binary send format, fields in this order, 50 bytes: numpy reads a packed hour in one
-- step (api/dispatch/packed.py `PACKED` is the same layout: a test compares both with the rows).
CREATE FUNCTION track_fix(p "position") RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN timestamptz_send(p.time) || float8send(p.latitude) || float8send(p.longitude) || float4send(p.speed)
           || float4send(p.heading) || float8send(p.odometer) || boolsend(p.ignition)
           || timestamptz_send(p.received_at) || boolsend(p.blind);

CREATE TABLE track_hour (
    vehicle_id  text        NOT NULL,
    hour        timestamptz NOT NULL,  -- the UTC hour the fixes were taken in
    fixes       integer     NOT NULL,
    packed      bytea       NOT NULL,  -- track_fix of each fix of the hour, in time order
    PRIMARY KEY (vehicle_id, hour)
);
-- Doubles and timestamps hardly compress: storing them as they are saves the attempt on every write and read.
ALTER TABLE track_hour ALTER COLUMN packed SET STORAGE EXTERNAL;
-- Chunks like position's, days long: a retention policy drops both alike.
SELECT create_hypertable('track_hour', by_range('hour', INTERVAL '1 day'));

-- How far each vehicle's hours are packed: every hour before `until` is in track_hour (or had no fix). The packer
-- moves it forward over hours that are over; the mileage refresher, claiming a vehicle's mark of new positions
-- (mileage_stale, written by the collector in the transaction that stored them), moves it back to the mark's hour.
-- Until then a reader takes the mark itself as the limit: a late fix is never missing from a track.
CREATE TABLE track_packed (
    vehicle_id  text        PRIMARY KEY,
    until       timestamptz NOT NULL
) WITH (fillfactor = 50);
