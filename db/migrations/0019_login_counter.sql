-- The login limit as counters (domain/login_limit.py) in place of a row per failure: per (user name, client
-- address) pair, per name and per address. An attempt is counted before its password is checked, under the
-- counters' row locks, so that concurrent guesses cannot pass the limit together; a pair remembers its last
-- successful login, which lets the name's owner in from that address whatever happens elsewhere.

DROP TABLE login_failure;

CREATE TABLE login_counter (
    kind          text NOT NULL CHECK (kind IN ('pair', 'name', 'address')),
    name          text NOT NULL,  -- the user name as typed, lower-cased; '' in an address's counter
    address       text NOT NULL,  -- the client address; '' in a name's counter
    level         double precision NOT NULL DEFAULT 0,  -- attempts counted, leaking at the limit per window
    at            timestamptz,    -- when the last attempt was counted
    succeeded_at  timestamptz,    -- a pair's last successful login
    PRIMARY KEY (kind, name, address)
);
-- Counters that have leaked empty and remember no recent login are pruned by their age.
CREATE INDEX login_counter_at ON login_counter (at);
