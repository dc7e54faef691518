-- What devices send. Keys make a repeated message store nothing new: ingest is idempotent.
-- No foreign keys from the hypertables: the collector checks every device against the registry
-- before it writes, and a per-row FK check would cost the COPY path a lookup per row.

CREATE TABLE reading (
    meter_id     text             NOT NULL,
    time         timestamptz      NOT NULL,
    register     double precision NOT NULL,
    received_at  timestamptz      NOT NULL,
    PRIMARY KEY (meter_id, time)
);
-- ~1,000 institutions x 3 meters x 96 readings a day is small: a week per chunk keeps chunks few.
SELECT create_hypertable('reading', by_range('time', INTERVAL '7 days'));

CREATE TABLE position (
    vehicle_id   text             NOT NULL,
    time         timestamptz      NOT NULL,  -- the fix time of the terminal
    latitude     double precision NOT NULL,
    longitude    double precision NOT NULL,
    speed        real             NOT NULL,
    heading      real             NOT NULL,
    odometer     double precision NOT NULL,
    ignition     boolean          NOT NULL,
    altitude     real,
    satellites   smallint,
    accuracy     real,
    soc          real,
    fuel         real,
    alarm        bigint,
    status       bigint,
    blind        boolean          NOT NULL DEFAULT false,
    received_at  timestamptz      NOT NULL,  -- when the collector got it: lag and terminal health
    PRIMARY KEY (vehicle_id, time)
);
-- Sizing: a row with its key is ~220 bytes. A city of 20,000 vehicles with a fifth moving (every 10 s)
-- and the rest parked (every 5 min) writes ~1.6 M rows an hour, ~350 MB: a 4-hour chunk and its index
-- fit the local stack's 2 GB shared_buffers. Change with set_chunk_time_interval for a province.
SELECT create_hypertable('position', by_range('time', INTERVAL '4 hours'));

-- The newest fix of each vehicle, for the live map. Updated in place on every batch, so leave
-- room on each page for HOT updates (fillfactor 50 doubled ingest in measurements).
CREATE TABLE live_position (LIKE position INCLUDING DEFAULTS, PRIMARY KEY (vehicle_id))
    WITH (fillfactor = 50);

CREATE TABLE dead_letter (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text        NOT NULL,
    payload      bytea       NOT NULL,
    reason       text        NOT NULL,
    detail       text        NOT NULL
);
CREATE INDEX dead_letter_received_at ON dead_letter (received_at);
CREATE INDEX dead_letter_reason ON dead_letter (reason, received_at);
