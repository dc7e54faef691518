-- The working calendar's dated days (domain/calendar.py): holidays (off) and make-up workdays (调休, on), kept by
-- admins through /calendar/days. Supervision's working hours and energy's working-hours baseline both read it; the
-- usual workdays of the week are the setting YIWANG_WORKDAYS. Replaces the settings YIWANG_SUPERVISION_HOLIDAYS and
-- YIWANG_SUPERVISION_EXTRA_WORKDAYS, which are now refused.
CREATE TABLE calendar_day (
    day         date        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name        text        NOT NULL CHECK (name <> '' AND length(name) <= 100),  -- 春节, 国庆节调休
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- One row that counts the calendar's changes: the supervisor reads it with each batch of positions and reloads the
-- calendar when it moved, so an admin's edit applies to the next fixes judged, without a restart or a wait. Bumped by
-- a statement trigger whoever writes (the API, or the owner in psql).
CREATE TABLE calendar_version (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    version  bigint  NOT NULL DEFAULT 0
);
INSERT INTO calendar_version DEFAULT VALUES;

CREATE FUNCTION calendar_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE calendar_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER calendar_day_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON calendar_day
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed();

-- 2026, as the State Council's General Office set it on 4 November 2025 (国务院办公厅关于2026年部分节假日安排的通知,
-- published by Xinhua; e.g. https://politics.gmw.cn/2025-11/04/content_38391083.htm). Every day of each break is
-- listed (weekend days in it included), then the weekend days worked in exchange.
INSERT INTO calendar_day (day, kind, name)
SELECT d::date, 'holiday', name
FROM (VALUES ('2026-01-01', '2026-01-03', '元旦'),
             ('2026-02-15', '2026-02-23', '春节'),
             ('2026-04-04', '2026-04-06', '清明节'),
             ('2026-05-01', '2026-05-05', '劳动节'),
             ('2026-06-19', '2026-06-21', '端午节'),
             ('2026-09-25', '2026-09-27', '中秋节'),
             ('2026-10-01', '2026-10-07', '国庆节')) AS breaks (first, last, name),
     generate_series(first::date, last::date, interval '1 day') AS d;
INSERT INTO calendar_day (day, kind, name)
VALUES ('2026-01-04', 'workday', '元旦调休'),
       ('2026-02-14', 'workday', '春节调休'),
       ('2026-02-28', 'workday', '春节调休'),
       ('2026-05-09', 'workday', '劳动节调休'),
       ('2026-09-20', 'workday', '国庆节调休'),
       ('2026-10-10', 'workday', '国庆节调休');
