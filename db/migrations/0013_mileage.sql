-- Mileage roll-up: the trips of every vehicle and its local days, maintained from the positions by
-- api/dispatch/mileage.py with the rules of api/dispatch (track.py cleans, trips.py finds trips). Reports of
-- kilometres and utilisation read these tables: a city's months of positions are far too many to read per request.

-- Vehicles whose positions changed since the roll-up last saw them, from `since` on. The collector marks them
-- in the transaction that stores the positions (db/ingest.py), so a late batch cannot be missed; `version` lets
-- the refresh clear a mark only if no new one came meanwhile. Updated in place on every batch: room for HOT.
CREATE TABLE mileage_stale (
    vehicle_id  text        PRIMARY KEY,
    since       timestamptz NOT NULL,
    version     bigint      NOT NULL DEFAULT 1
) WITH (fillfactor = 50);

-- What the roll-up was counted with: the zone of its local days and the rules' thresholds. Another setting
-- needs `yiwang mileage rebuild`.
CREATE TABLE mileage_basis (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    zone      text    NOT NULL,
    rules     text    NOT NULL
);

-- Every trip found (trips.py), on the local day it started: a trip over midnight counts on the day it set out.
CREATE TABLE mileage_trip (
    vehicle_id       text             NOT NULL,
    start_time       timestamptz      NOT NULL,
    end_time         timestamptz      NOT NULL,
    day              date             NOT NULL,  -- local day of start_time
    distance_km      double precision NOT NULL,
    distance_source  text             NOT NULL CHECK (distance_source IN ('odometer', 'track')),
    max_speed        real             NOT NULL,
    fixes            integer          NOT NULL,
    start_latitude   double precision NOT NULL,
    start_longitude  double precision NOT NULL,
    end_latitude     double precision NOT NULL,
    end_longitude    double precision NOT NULL,
    PRIMARY KEY (vehicle_id, start_time),
    CHECK (end_time >= start_time)
);
CREATE INDEX mileage_trip_day ON mileage_trip (vehicle_id, day);

-- One vehicle's local day: its trips (those that started that day), their kilometres, how many of those came
-- from the odometer rather than the track, the seconds they lasted, the fixes received, and the first and last
-- rest points (fixes after which no trip can be open, whatever came before: where a recount may start).
CREATE TABLE mileage_day (
    vehicle_id      text             NOT NULL,
    day             date             NOT NULL,
    km              double precision NOT NULL DEFAULT 0,
    odometer_km     double precision NOT NULL DEFAULT 0,
    trips           integer          NOT NULL DEFAULT 0,
    moving_seconds  double precision NOT NULL DEFAULT 0,
    max_speed       real,
    fixes           integer          NOT NULL DEFAULT 0,
    first_fix       timestamptz,
    last_fix        timestamptz,
    first_rest      timestamptz,
    last_rest       timestamptz,
    PRIMARY KEY (vehicle_id, day)
);
CREATE INDEX mileage_day_day ON mileage_day (day);
