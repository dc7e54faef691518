-- The gaps held for staff, by meter: coverage (db/energy_reports.py `meter_spans`) and the held-gap counts look
-- them up per meter, and the primary key (meter_id, "end", change) made each lookup read every event of the meter,
-- rollovers, jitter and implausible deltas included, which grow with the history. Held gaps are few.
CREATE INDEX consumption_event_held ON consumption_event (meter_id, "end") WHERE change = 'gap';
