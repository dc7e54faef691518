-- Two more kinds of consumption_event (domain/counters.py): `glitch`, a drop that the next reading did not confirm
-- (it came back to the old baseline: counted as nothing), and `gap`, a delta over a gap longer than the
-- energy_max_gap_days setting, held unapportioned for staff: its amount is in no consumption_day.
ALTER TABLE consumption_event DROP CONSTRAINT consumption_event_change_check;
ALTER TABLE consumption_event ADD CONSTRAINT consumption_event_change_check
    CHECK (change IN ('rollover', 'jitter', 'glitch', 'reset', 'implausible', 'gap'));
