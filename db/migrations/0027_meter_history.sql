-- A meter's replacement and its multiplier as dated events (issue 15, point 4; domain/counters.py uses both).

-- A meter swapped for a new one, as staff recorded it (POST /meters/{id}/replacements): the moment, the old meter's
-- final register and the new meter's first. The roll-up counts the old meter up to its final and the new one from
-- its first: no drop is guessed a reset across it.
CREATE TABLE meter_replacement (
    meter_id     text             NOT NULL REFERENCES meter (id),
    time         timestamptz      NOT NULL,
    old_final    double precision NOT NULL,  -- register units
    new_first    double precision NOT NULL,
    note         text             NOT NULL,
    recorded_by  bigint           NOT NULL REFERENCES app_user (id),
    recorded_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (meter_id, time)
);

-- A meter's multiplier (CT/PT ratio) history: each value in force from `since` until the next row. Written when a
-- multiplier changes (PATCH /meters, the spreadsheets, `yiwang registry import`), from the change's `multiplier_from`
-- or the moment it was made; the first change also keeps the value before it, from 1900-01-01 (db/marks.py's
-- BEFORE_ALL). A meter without rows counts at meter.multiplier throughout.
CREATE TABLE meter_multiplier (
    meter_id     text             NOT NULL REFERENCES meter (id),
    since        timestamptz      NOT NULL,
    multiplier   double precision NOT NULL CHECK (multiplier > 0),
    recorded_at  timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (meter_id, since)
);

-- The swap itself is an event of the roll-up (`replacement`, of no time and no amount) and may end where the old
-- meter's last delta ends (at the swap's moment): an event is one of a kind at its end.
ALTER TABLE consumption_event DROP CONSTRAINT consumption_event_change_check;
ALTER TABLE consumption_event ADD CONSTRAINT consumption_event_change_check
    CHECK (change IN ('rollover', 'jitter', 'glitch', 'reset', 'implausible', 'gap', 'replacement'));
ALTER TABLE consumption_event DROP CONSTRAINT consumption_event_pkey;
ALTER TABLE consumption_event ADD PRIMARY KEY (meter_id, "end", change);
