-- How often each meter reports (issue 15): data quality expects one reading per interval from the meter's
-- installation (or its first reading) on. 900 s: the 15-minute meters the data-quality view assumed of every meter.
-- At most 31 days: a meter read by hand once a month.
ALTER TABLE meter ADD COLUMN reading_interval_seconds integer NOT NULL DEFAULT 900
    CHECK (reading_interval_seconds BETWEEN 1 AND 2678400);

-- A reading resent for a time already stored, with another register. The first copy stays (ingest is idempotent:
-- db/ingest.py); the difference is kept here for staff to see (GET /energy/conflicts, the data-quality view). One
-- row per stored reading at most, so that a device resending many values costs a count, not rows. A resend with the
-- same register is a QoS 1 redelivery and leaves nothing.
CREATE TABLE reading_conflict (
    meter_id           text             NOT NULL,
    time               timestamptz      NOT NULL,
    stored_register    double precision NOT NULL,  -- the register kept, the first copy's
    resent_register    double precision NOT NULL,  -- the latest different register sent for the same time
    resends            integer          NOT NULL DEFAULT 1,  -- copies received with a different register
    first_received_at  timestamptz      NOT NULL,
    last_received_at   timestamptz      NOT NULL,
    PRIMARY KEY (meter_id, time)
);
