-- Supervision (督车): the areas rules judge against, and the alerts the supervisor raises.

-- A permitted area (where a unit's vehicles may go) or a designated parking place, as a GeoJSON Polygon or
-- MultiPolygon in WGS-84 [lon, lat]; organisation_id NULL: it applies to every unit's vehicles.
CREATE TABLE area (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text   NOT NULL,
    kind             text   NOT NULL CHECK (kind IN ('permitted', 'parking')),
    organisation_id  text   REFERENCES organisation (id),
    geometry         jsonb  NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- One alert per vehicle, kind and fix time: a position delivered twice raises it once.
CREATE TABLE alert (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vehicle_id       text             NOT NULL,
    organisation_id  text             NOT NULL,  -- the vehicle's unit when it was raised: the scope of who sees it
    kind             text             NOT NULL
                     CHECK (kind IN ('speeding', 'off_hours', 'no_dispatch', 'area_exit', 'parking', 'silent')),
    level            text             NOT NULL CHECK (level IN ('yellow', 'red')),
    time             timestamptz      NOT NULL,  -- the fix time judged (supervision judges by fix time)
    received_at      timestamptz      NOT NULL,
    raised_at        timestamptz      NOT NULL DEFAULT now(),
    latitude         double precision,
    longitude        double precision,
    speed            real,
    detail           text             NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  bigint REFERENCES app_user (id),
    note             text,
    UNIQUE (vehicle_id, kind, time)
);
CREATE INDEX alert_open ON alert (raised_at) WHERE acknowledged_at IS NULL;
CREATE INDEX alert_organisation ON alert (organisation_id, time);
