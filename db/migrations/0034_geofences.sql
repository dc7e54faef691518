-- Geofences, named working calendars and the supervisor's memory (issue 17; domain/supervision.py, domain/geo.py,
-- domain/calendar.py, docs/calendar.md).

-- Named working calendars: hours and usual workdays of the week; the dated days (calendar_day) are the city's,
-- shared by every calendar. NULL hours or workdays: the settings' (YIWANG_SUPERVISION_WORK_HOURS, YIWANG_WORKDAYS),
-- so the settings stay the default calendar's values until an admin sets them. Exactly one calendar is the default:
-- supervision's off_hours and parking and energy's anomalies read it; areas may name another.
CREATE TABLE work_calendar (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL UNIQUE CHECK (name <> '' AND length(name) <= 100),
    is_default  boolean     NOT NULL DEFAULT false,
    work_start  time,
    work_end    time,
    workdays    smallint[]  CHECK (workdays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]),  -- ISO: Monday 1
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((work_start IS NULL) = (work_end IS NULL) AND (work_start IS NULL OR work_start <> work_end))
);
CREATE UNIQUE INDEX work_calendar_one_default ON work_calendar (is_default) WHERE is_default;
INSERT INTO work_calendar (name, is_default) VALUES ('default', true);

-- An edited calendar applies to the next positions judged, as an edited day does (0025_calendar_day.sql).
CREATE TRIGGER work_calendar_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON work_calendar
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed();

-- Areas: forbidden zones besides permitted areas and parking places; circles (a GeoJSON Point and radius_m) and
-- corridors (a LineString and width_m, the corridor's full width) besides polygons; a speed limit inside; and the
-- hours an area applies in (its calendar's working time, or outside it; NULL calendar: the default one).
ALTER TABLE area DROP CONSTRAINT area_kind_check;
ALTER TABLE area ADD CONSTRAINT area_kind_check CHECK (kind IN ('permitted', 'parking', 'forbidden'));
ALTER TABLE area
    ADD COLUMN radius_m         double precision CHECK (radius_m > 0),
    ADD COLUMN width_m          double precision CHECK (width_m > 0),
    ADD COLUMN speed_limit_kmh  real             CHECK (speed_limit_kmh > 0),
    ADD COLUMN calendar_id      bigint           REFERENCES work_calendar (id),
    ADD COLUMN hours            text             NOT NULL DEFAULT 'always'
                                                 CHECK (hours IN ('always', 'working', 'off_hours'));
ALTER TABLE area ADD CONSTRAINT area_shape CHECK (
    (geometry ->> 'type' = 'Point') = (radius_m IS NOT NULL)
    AND (geometry ->> 'type' = 'LineString') = (width_m IS NOT NULL));

-- Entering a forbidden area.
ALTER TABLE alert DROP CONSTRAINT alert_kind_check;
ALTER TABLE alert ADD CONSTRAINT alert_kind_check
    CHECK (kind IN ('speeding', 'off_hours', 'no_dispatch', 'area_exit', 'parking', 'silent',
                    'emergency', 'gnss_antenna', 'power_cut', 'terminal_overspeed', 'fatigue', 'area_entry'));

-- What the supervision rules remember of each vehicle (domain/supervision.py Watch.state: where it stood, inside or
-- outside its areas, at rest, the last alert of each kind, the alarm runs, motion), written in the transaction that
-- stores the batch's alerts: after a restart the supervisor resumes from the last batch committed, and the broker
-- redelivers what came after it.
CREATE TABLE supervisor_watch (
    vehicle_id  text        PRIMARY KEY,
    state       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
