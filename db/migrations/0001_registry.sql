-- The registry: who owns what, and which devices may speak. Later issues extend these tables.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE organisation (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'unit'
                CHECK (kind IN ('unit', 'service_company', 'rental_company')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE institution (
    id               text PRIMARY KEY,
    organisation_id  text NOT NULL REFERENCES organisation (id),
    name             text NOT NULL,
    category         text NOT NULL
                     CHECK (category IN ('agency', 'public_institution', 'school', 'hospital', 'community', 'venue')),
    district         text,
    latitude         double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude        double precision CHECK (longitude BETWEEN -180 AND 180),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX institution_organisation ON institution (organisation_id);

CREATE TABLE meter (
    id              text PRIMARY KEY,
    institution_id  text NOT NULL REFERENCES institution (id),
    energy_type     text NOT NULL
                    CHECK (energy_type IN ('electricity', 'water', 'natural_gas', 'heat',
                                           'raw_coal', 'gasoline', 'diesel', 'lpg')),
    unit            text NOT NULL,
    sub_item        text CHECK (sub_item IN ('lighting_socket', 'air_conditioning', 'power', 'special')),
    multiplier      double precision NOT NULL DEFAULT 1 CHECK (multiplier > 0),
    register_max    double precision CHECK (register_max > 0),
    installed_on    date,
    replaced_on     date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (sub_item IS NULL OR energy_type = 'electricity')
);
CREATE INDEX meter_institution ON meter (institution_id);

CREATE TABLE vehicle (
    id                   text PRIMARY KEY,
    organisation_id      text NOT NULL REFERENCES organisation (id),
    plate                text NOT NULL UNIQUE,
    vin                  text,
    vehicle_type         text,
    energy               text NOT NULL
                         CHECK (energy IN ('gasoline', 'diesel', 'battery_electric', 'plug_in_hybrid')),
    seats                smallint CHECK (seats > 0),
    battery_kwh          double precision CHECK (battery_kwh > 0),
    terminal_id          text UNIQUE,
    home_institution_id  text REFERENCES institution (id),
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vehicle_organisation ON vehicle (organisation_id);
