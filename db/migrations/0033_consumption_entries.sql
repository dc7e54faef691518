-- Consumption that does not come from meters (issue 18): bills, delivery notes and manual entries of an institution's
-- energy or water over a period (api/energy/entries.py), and the declared source of each institution's type and year:
-- which of meters and entries counts (db/declared.py). Nothing is ever overwritten: a correction is a new entry that
-- supersedes the old one, with the reason, and a withdrawal keeps the entry, marked, with its reason.
CREATE TABLE consumption_entry (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    institution_id  text        NOT NULL REFERENCES institution (id),
    energy_type     text        NOT NULL CHECK (energy_type IN ('electricity', 'water', 'natural_gas', 'heat', 'raw_coal',
                                                                'lpg', 'gasoline', 'diesel', 'other')),
    -- The survey's heating form (采暖) reports heating's consumption apart from the rest.
    purpose         text        NOT NULL DEFAULT 'general' CHECK (purpose IN ('general', 'heating')),
    -- The days the entry covers, [period_start, period_end): a bill's period need not be a calendar month; it is
    -- shared between months in proportion to days (domain/entries.py).
    period_start    date        NOT NULL,
    period_end      date        NOT NULL CHECK (period_end > period_start),
    -- In `unit`, one that domain/measures.py knows for the type ("other" in kgce); NULL: a bill that states only a cost.
    quantity        numeric     CHECK (quantity >= 0),
    unit            text,
    cost            numeric     CHECK (cost >= 0),  -- yuan; NULL: not stated (never zero in its place)
    source          text        NOT NULL CHECK (source IN ('bill', 'delivery_note', 'manual')),
    reference       text        NOT NULL DEFAULT '',  -- the bill's or note's number; '' where there is none
    entered_by      bigint      NOT NULL REFERENCES app_user (id),
    entered_at      timestamptz NOT NULL DEFAULT now(),
    -- A correction: the entry this one replaces, and why. The replaced entry stays, no longer counted.
    supersedes      bigint      REFERENCES consumption_entry (id),
    reason          text,
    withdrawn_by    bigint      REFERENCES app_user (id),
    withdrawn_at    timestamptz,
    withdrawn_reason text,
    CHECK (quantity IS NOT NULL OR cost IS NOT NULL),
    CHECK ((quantity IS NULL) = (unit IS NULL)),
    CHECK ((supersedes IS NULL) = (reason IS NULL)),
    CHECK ((withdrawn_at IS NULL) = (withdrawn_by IS NULL) AND (withdrawn_at IS NULL) = (withdrawn_reason IS NULL))
);
-- An entry is corrected at most once: its correction is corrected in turn.
CREATE UNIQUE INDEX consumption_entry_superseded ON consumption_entry (supersedes) WHERE supersedes IS NOT NULL;
CREATE INDEX consumption_entry_period ON consumption_entry (institution_id, period_start, period_end);

-- Which source counts for an institution's energy type in a year, as staff declared it; without a row the default
-- rule of db/declared.py decides (meters where a main meter of the type has data that year, else entries).
CREATE TABLE declared_source (
    institution_id  text        NOT NULL REFERENCES institution (id),
    energy_type     text        NOT NULL,
    year            integer     NOT NULL,
    source          text        NOT NULL CHECK (source IN ('meters', 'entries')),
    reason          text        NOT NULL CHECK (reason <> ''),
    declared_by     bigint      NOT NULL REFERENCES app_user (id),
    declared_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (institution_id, energy_type, year)
);
