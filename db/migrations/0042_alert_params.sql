-- An alert's parameters: what its text says, by name (moved_m = 50), so that each reader is told it in their own
-- language from the vocabulary (domain/vocabulary). `detail` stays: the English text, as before. Null for an alert
-- raised before parameters were kept, whose English detail is all there is, except where that detail says them
-- plainly: those are filled in below from the words the supervisor wrote then.
ALTER TABLE alert ADD COLUMN params jsonb;

UPDATE alert SET params = '{}'
 WHERE params IS NULL
   AND (kind, detail) IN (('off_hours', 'in use outside working hours without a dispatched request'),
                          ('area_exit', 'left the permitted area'),
                          ('parking', 'parked outside designated places outside working hours'));

UPDATE alert SET params = jsonb_build_object('moved_m', (regexp_match(detail, '^moved over (\d+) m '))[1]::int)
 WHERE params IS NULL AND kind = 'no_dispatch' AND detail ~ '^moved over \d+ m without a dispatched request$';

UPDATE alert a
   SET params = CASE WHEN s.m[3] IS NULL THEN jsonb_build_object('speed', s.m[1]::int, 'limit', s.m[2]::int)
                     ELSE jsonb_build_object('form', 'speeding_in_area', 'speed', s.m[1]::int, 'limit', s.m[2]::int,
                                             'area', s.m[3]::bigint) END
  FROM (SELECT id, regexp_match(detail, '^(\d+) km/h, limit (\d+)(?: in area (\d+))?$') AS m
          FROM alert WHERE params IS NULL AND kind = 'speeding') s
 WHERE a.id = s.id AND s.m IS NOT NULL;
