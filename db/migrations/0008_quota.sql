-- Consumption quotas (能耗定额) per year, per assessed indicator, for a category of institution or one
-- institution (an institution's own quota overrides its category's).
CREATE TABLE quota (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    indicator       text    NOT NULL CHECK (indicator IN ('water_per_capita', 'energy_per_capita', 'energy_per_area')),
    category        text    CHECK (category IN ('agency', 'public_institution', 'school', 'hospital', 'community',
                                                'venue')),
    institution_id  text    REFERENCES institution (id),
    limit_value     numeric NOT NULL CHECK (limit_value > 0),  -- m³/person, kgce/person or kgce/m² a year
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((category IS NULL) <> (institution_id IS NULL)),
    UNIQUE NULLS NOT DISTINCT (year, indicator, category, institution_id)
);
