-- Dispatch (统筹调度): drivers, where a vehicle is in its life, trip requests (用车申请) and their append-only
-- history. The state machine itself lives in api/requests.py; the database holds what must never be false
-- whoever writes: one open request per vehicle and per driver, and a history that is only ever added to.

CREATE TABLE driver (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  text NOT NULL REFERENCES organisation (id),  -- the unit or service company employing them
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    phone            text CHECK (phone ~ '^\+?[0-9][0-9 -]{2,19}$'),
    -- 准驾车型 of the Chinese driving licence (C1: cars, B1: mid-size buses, A1: large buses ...).
    licence_class    text NOT NULL
                     CHECK (licence_class IN ('A1', 'A2', 'A3', 'B1', 'B2', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6',
                                              'D', 'E', 'F', 'M', 'N', 'P')),
    active           boolean NOT NULL DEFAULT true,  -- false: left, or not to be dispatched
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX driver_organisation ON driver (organisation_id, id);

-- Where a vehicle is in its life: usable (active), in the workshop, or gone (auctioned or scrapped). Not the
-- live map's state, which adds dispatch and silence to it (api/positions.py). The registry import does not
-- name this column, so importing a vehicle leaves it as it is.
ALTER TABLE vehicle
    ADD COLUMN lifecycle text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'maintenance', 'retired'));

CREATE TABLE trip_request (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id        text   NOT NULL REFERENCES organisation (id),  -- the requesting unit
    requested_by           bigint NOT NULL REFERENCES app_user (id),
    purpose                text   NOT NULL CHECK (length(purpose) BETWEEN 1 AND 500),
    passengers             smallint NOT NULL CHECK (passengers BETWEEN 1 AND 60),
    origin                 text   NOT NULL CHECK (length(origin) BETWEEN 1 AND 200),
    origin_latitude        double precision CHECK (origin_latitude BETWEEN -90 AND 90),
    origin_longitude       double precision CHECK (origin_longitude BETWEEN -180 AND 180),
    destination            text   NOT NULL CHECK (length(destination) BETWEEN 1 AND 200),
    destination_latitude   double precision CHECK (destination_latitude BETWEEN -90 AND 90),
    destination_longitude  double precision CHECK (destination_longitude BETWEEN -180 AND 180),
    wanted_start           timestamptz NOT NULL,
    wanted_end             timestamptz NOT NULL,
    state                  text NOT NULL DEFAULT 'submitted'
                           CHECK (state IN ('submitted', 'approved', 'rejected', 'dispatched', 'under_way',
                                            'returned', 'evaluated', 'cancelled')),
    vehicle_id             text   REFERENCES vehicle (id),
    driver_id              bigint REFERENCES driver (id),
    -- When each step was taken (who took it is in trip_request_event).
    submitted_at           timestamptz NOT NULL DEFAULT now(),
    approved_at            timestamptz,
    rejected_at            timestamptz,
    dispatched_at          timestamptz,
    departed_at            timestamptz,
    returned_at            timestamptz,
    cancelled_at           timestamptz,
    evaluated_at           timestamptz,
    departure_odometer_km  double precision CHECK (departure_odometer_km >= 0),
    return_odometer_km     double precision CHECK (return_odometer_km >= 0),
    evaluation_score       smallint CHECK (evaluation_score BETWEEN 1 AND 5),
    evaluation_note        text,
    CHECK (wanted_end > wanted_start),
    CHECK ((origin_latitude IS NULL) = (origin_longitude IS NULL)),
    CHECK ((destination_latitude IS NULL) = (destination_longitude IS NULL)),
    -- Dispatched and after: a vehicle and a driver are assigned.
    CHECK (state NOT IN ('dispatched', 'under_way', 'returned', 'evaluated')
           OR (vehicle_id IS NOT NULL AND driver_id IS NOT NULL)),
    CHECK ((evaluation_score IS NOT NULL) = (state = 'evaluated')),
    CHECK (return_odometer_km >= departure_odometer_km)
);
CREATE INDEX trip_request_organisation ON trip_request (organisation_id, id);
CREATE INDEX trip_request_state ON trip_request (state, id);

-- A vehicle, and a driver, carries at most one open request (dispatched or under way) at a time: two
-- dispatchers racing for one vehicle cannot both win, whatever the application checks first.
CREATE UNIQUE INDEX trip_request_open_vehicle ON trip_request (vehicle_id) WHERE state IN ('dispatched', 'under_way');
CREATE UNIQUE INDEX trip_request_open_driver ON trip_request (driver_id) WHERE state IN ('dispatched', 'under_way');

-- Every step of every request: who took it and when. A request's first event is its submission (from_state
-- null). The foreign key also keeps a request with history from being deleted.
CREATE TABLE trip_request_event (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  bigint NOT NULL REFERENCES trip_request (id),
    action      text   NOT NULL
                CHECK (action IN ('submit', 'approve', 'reject', 'dispatch', 'depart', 'return', 'cancel',
                                  'evaluate')),
    from_state  text,
    to_state    text   NOT NULL,
    user_id     bigint NOT NULL REFERENCES app_user (id),
    at          timestamptz NOT NULL DEFAULT now(),
    note        text,
    details     jsonb  NOT NULL DEFAULT '{}'  -- what the step set: vehicle and driver, odometer, score
);
CREATE INDEX trip_request_event_request ON trip_request_event (request_id, id);

CREATE FUNCTION trip_request_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trip_request_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- As for audit_log (0003_access.sql): the triggers hold against every role, the owner's included.
CREATE TRIGGER trip_request_event_no_update_or_delete
    BEFORE UPDATE OR DELETE ON trip_request_event
    FOR EACH ROW EXECUTE FUNCTION trip_request_event_append_only();
CREATE TRIGGER trip_request_event_no_truncate
    BEFORE TRUNCATE ON trip_request_event
    FOR EACH STATEMENT EXECUTE FUNCTION trip_request_event_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON trip_request_event FROM PUBLIC;
