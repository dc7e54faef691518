-- Staff's corrections of a meter's day (issue 15; PUT /energy/corrections/{meter_id}, api/energy/corrections.py): a
-- spike or a misread replaced by the amount staff state, with the reason, who and when. The day's figure becomes the
-- correction, and every figure summed from it (months, years, kgce, carbon, indicators, exports) with it; what the
-- readings counted stays beside it. A correction is withdrawn, never deleted: the history is kept, and at most one
-- correction of a meter's day applies at a time.
CREATE TABLE consumption_correction (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meter_id          text        NOT NULL REFERENCES meter (id),
    day               date        NOT NULL,  -- a local day of the roll-up's zone
    amount            numeric     NOT NULL CHECK (amount >= 0),  -- the day's consumption in the meter's unit
                                                                 -- (multiplier applied), to the millionth
    reason            text        NOT NULL CHECK (reason <> ''),
    corrected_by      bigint      NOT NULL REFERENCES app_user (id),
    corrected_at      timestamptz NOT NULL DEFAULT now(),
    withdrawn_by      bigint      REFERENCES app_user (id),
    withdrawn_at      timestamptz,
    withdrawn_reason  text,
    CHECK ((withdrawn_at IS NULL) = (withdrawn_by IS NULL) AND (withdrawn_at IS NULL) = (withdrawn_reason IS NULL))
);
CREATE UNIQUE INDEX consumption_correction_applies ON consumption_correction (meter_id, day) WHERE withdrawn_at IS NULL;

-- A corrected day keeps what its readings counted: `original` and `original_hours` (NULL: the day is not corrected),
-- while `amount` and `hours` hold the correction (its hours shared in proportion to the counted ones). The roll-up
-- applies the corrections again whenever it recounts a day (api/energy/rollup.py, db/consumption.py), so a recount
-- or `yiwang energy rebuild` keeps them.
ALTER TABLE consumption_day ADD COLUMN original numeric, ADD COLUMN original_hours numeric[];
CREATE INDEX consumption_day_corrected ON consumption_day (meter_id, day) WHERE original IS NOT NULL;
-- How many of the month's days are corrected: reports mark the figures they hold.
ALTER TABLE consumption_month ADD COLUMN corrected integer NOT NULL DEFAULT 0;
