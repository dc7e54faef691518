-- Two more kinds of consumption_event (domain/counters.py): `glitch`, a drop that the next reading did not confirm
-- (it came back to the old baseline: counted as nothing), and `gap`, a delta over a gap longer than the
-- energy_max_gap_days setting, held unapportioned for staff: its amount is in no consumption_day.
ALTER TABLE consumption_event DROP CONSTRAINT consumption_event_change_check;
ALTER TABLE consumption_event ADD CONSTRAINT consumption_event_change_check
    CHECK (change IN ('rollover', 'jitter', 'glitch', 'reset', 'implausible', 'gap'));

-- Staff's decision on a held gap (PUT /energy/gaps/{meter_id}): `spread` shares its delta between the days of the gap
-- as the rules would have, `exclude` leaves it out of consumption for good. The roll-up reads the decisions of a
-- meter when it recounts it; a gap that late readings fill in is no longer held, and its decision no longer applies.
CREATE TABLE consumption_gap_decision (
    meter_id    text        NOT NULL REFERENCES meter (id),
    start       timestamptz NOT NULL,  -- the gap's first reading
    "end"       timestamptz NOT NULL,  -- its last
    amount      numeric     NOT NULL,  -- what the gap held when decided, in the meter's unit
    decision    text        NOT NULL CHECK (decision IN ('spread', 'exclude')),
    note        text        NOT NULL,
    decided_by  bigint      NOT NULL REFERENCES app_user (id),
    decided_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (meter_id, start, "end")
);
