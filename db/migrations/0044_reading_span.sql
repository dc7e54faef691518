-- Each meter's first and last reading ever, kept beside the hypertable (db/ingest.py widens it in the transaction
-- that stores the readings). Whether readings cover a period (domain/coverage.py) and a meter's data quality need
-- them; looked up in `reading` they cost a plan over every chunk kept, which grows with the history whatever the
-- period asked, and once retention drops old chunks the first reading left there is no longer the first ever.
CREATE TABLE reading_span (
    meter_id text        PRIMARY KEY,
    earliest timestamptz NOT NULL,
    latest   timestamptz NOT NULL
);

-- No reading may be stored between the backfill and the commit: it would be in no span. Collectors of this version
-- widen the spans from then on.
LOCK TABLE reading IN SHARE MODE;
INSERT INTO reading_span (meter_id, earliest, latest)
SELECT meter_id, min(time), max(time) FROM reading GROUP BY meter_id;
