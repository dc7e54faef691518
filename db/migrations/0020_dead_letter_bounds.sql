-- One device's credentials could fill the database through dead_letter (issue 14): a refused payload was kept
-- whole, for ever, as many as were sent. Now a row keeps the payload's first bytes (YIWANG_DEAD_LETTER_PREFIX_BYTES)
-- with its size and SHA-256, names the device of its topic, and may stand for several refusals (`refused`: the
-- messages of a rate-limited device in one minute). The collector deletes rows past their retention and beyond a
-- number per device (collector/run.py), finding a device's rows by the index below.
ALTER TABLE dead_letter
    ADD COLUMN device_id      text,
    ADD COLUMN payload_size   integer,
    ADD COLUMN payload_sha256 bytea,
    ADD COLUMN refused        integer NOT NULL DEFAULT 1;

-- Rows of before keep their size and hash, only the default prefix of their payload, and the device their topic
-- names (<root>/<meter|vehicle>/<id>/<family>), so that the first pruning keeps each device's newest rows rather
-- than 1,000 of all of them.
UPDATE dead_letter
   SET payload_size = length(payload), payload_sha256 = sha256(payload), payload = substring(payload FROM 1 FOR 1024),
       device_id = (regexp_match(topic, '/(?:meter|vehicle)/([^/]+)/[^/]+$'))[1];

ALTER TABLE dead_letter
    ALTER COLUMN payload_size SET NOT NULL,
    ALTER COLUMN payload_sha256 SET NOT NULL;

CREATE INDEX dead_letter_device ON dead_letter (device_id, id);
