-- Consumption roll-ups, maintained from the readings by api/energy/rollup.py with the rules of
-- api/energy/consumption.py. Continuous aggregates cannot hold those rules (a reading's meaning depends on
-- the baseline that all earlier readings left), so both TimescaleDB editions use these tables.

-- The most a meter can plausibly consume in an hour (consumption units): a faster delta is flagged and
-- excluded from indicators. NULL: no check.
ALTER TABLE meter ADD COLUMN max_rate double precision CHECK (max_rate > 0);

-- Meters whose readings changed since the roll-up last saw them, from `since` on. The collector marks
-- them in the transaction that stores the readings, so a late batch cannot be missed; `version` lets the
-- refresh clear a mark only if no new one came meanwhile. Updated in place: room for HOT updates.
CREATE TABLE consumption_stale (
    meter_id  text        PRIMARY KEY,
    since     timestamptz NOT NULL,
    version   bigint      NOT NULL DEFAULT 1
) WITH (fillfactor = 50);

-- The zone whose local days the roll-up counts in: a different setting needs `yiwang energy rebuild`.
CREATE TABLE consumption_zone (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    zone      text    NOT NULL
);

-- One meter's local day: consumption in its unit (multiplier applied, implausible deltas excluded), the
-- local hours from midnight (23 to 25 of them), what implausible deltas would have added, the readings
-- made that day, and where a recompute of the day starts (the last reading before midnight and the
-- baseline after it).
CREATE TABLE consumption_day (
    meter_id        text      NOT NULL,
    day             date      NOT NULL,
    amount          numeric   NOT NULL,
    hours           numeric[] NOT NULL,
    excluded        numeric   NOT NULL DEFAULT 0,
    readings        integer   NOT NULL DEFAULT 0,
    start_time      timestamptz,
    start_baseline  bigint,  -- millionths of the register unit
    PRIMARY KEY (meter_id, day)
);
CREATE INDEX consumption_day_day ON consumption_day (day);

-- Deltas that were not plain rises: rollovers, jitter, resets, implausible. Data quality lists them.
CREATE TABLE consumption_event (
    meter_id   text        NOT NULL,
    start      timestamptz NOT NULL,
    "end"      timestamptz NOT NULL,
    change     text        NOT NULL CHECK (change IN ('rollover', 'jitter', 'reset', 'implausible')),
    before     numeric     NOT NULL,  -- the baseline, register units
    after      numeric     NOT NULL,  -- the register at the end
    amount     numeric     NOT NULL,  -- what it counts (implausible: what it would have counted)
    PRIMARY KEY (meter_id, "end")
);
