-- JT/T 808 terminals registered through the gateway (issue 16). A terminal registers (0x0100) under its phone
-- number, which must be a non-retired vehicle's terminal id, and is given a random authentication code that it
-- presents (0x0102) on every later connection. The row keeps the code's SHA-256, never the code: the code is 128
-- random bits, so its hash cannot be reversed or guessed, and a reader of the table cannot authenticate as the
-- terminal (as the API keeps refresh tokens, api/access/tokens.py). A keyed hash would add a secret to deploy and
-- rotate and nothing against a code that cannot be guessed. A logout (0x0003) voids the code (NULL).
CREATE TABLE terminal_registration (
    -- The phone number without the zeros that pad it to 12 or 20 digits (domain/jt808/header.py Header.phone).
    terminal_id    text        PRIMARY KEY,
    vehicle_id     text        NOT NULL REFERENCES vehicle (id),
    code_sha256    bytea       CHECK (octet_length(code_sha256) = 32),
    registered_at  timestamptz NOT NULL,
    -- When the terminal first presented this code: until then the code may not have reached it (its 0x8100 lost
    -- with the connection), and a new registration takes the place of this one (db/terminals.py register).
    authenticated_at timestamptz,
    -- What the terminal said of itself and its vehicle in 0x0100, as sent (at most 30 bytes each; the plate
    -- cut to 32 characters): for a person checking a registration, never trusted for anything.
    maker          text        NOT NULL,
    model          text        NOT NULL,
    device_serial  text        NOT NULL,
    plate_color    smallint    NOT NULL,
    plate          text        NOT NULL,
    province       integer     NOT NULL,
    city           integer     NOT NULL
);
CREATE INDEX terminal_registration_vehicle ON terminal_registration (vehicle_id);

-- The gateway finds a vehicle by its terminal id without the leading zeros, as the header reads the phone.
CREATE INDEX vehicle_terminal_digits ON vehicle (ltrim(terminal_id, '0')) WHERE lifecycle <> 'retired';
