-- Conversion factors are data, versioned, never constants in code: a result names the version it used.

CREATE TABLE factor_version (
    version       text        PRIMARY KEY,
    kind          text        NOT NULL CHECK (kind IN ('standard_coal', 'carbon')),
    title         text        NOT NULL,
    source        text        NOT NULL,  -- the standard or publication, so a figure can be checked
    published_on  date,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Standard coal equivalents (折标准煤系数) for comprehensive energy (综合能耗). Water is a resource, not
-- energy: it has none.
CREATE TABLE coal_factor (
    version        text    NOT NULL REFERENCES factor_version (version),
    energy_type    text    NOT NULL CHECK (energy_type IN ('electricity', 'natural_gas', 'heat', 'raw_coal',
                                                           'gasoline', 'diesel', 'lpg')),
    unit           text    NOT NULL,  -- the unit one factor applies to: kWh, m³, MJ, kg
    kgce_per_unit  numeric NOT NULL CHECK (kgce_per_unit > 0),
    PRIMARY KEY (version, energy_type)
);

-- Emission factors: electricity's is published per year and per grid region; a fuel's holds for any year.
CREATE TABLE carbon_factor (
    version         text    NOT NULL REFERENCES factor_version (version),
    energy_type     text    NOT NULL CHECK (energy_type IN ('electricity', 'natural_gas', 'heat', 'raw_coal',
                                                            'gasoline', 'diesel', 'lpg')),
    region          text    NOT NULL DEFAULT 'national',
    year            integer CHECK (year BETWEEN 2000 AND 2100),  -- NULL: any year
    unit            text    NOT NULL,
    kgco2_per_unit  numeric NOT NULL CHECK (kgco2_per_unit > 0)
);
CREATE UNIQUE INDEX carbon_factor_key ON carbon_factor (version, energy_type, region, coalesce(year, 0));

INSERT INTO factor_version (version, kind, title, source, published_on) VALUES
    ('gb2589-2020-equivalent', 'standard_coal', 'Standard coal equivalents, equivalent-value method (当量值)',
     'GB/T 2589-2020 General principles for calculation of the comprehensive energy consumption, Appendix A', NULL),
    ('cn-2022', 'carbon', 'Electricity CO2 emission factor 2022 (national average); natural gas',
     'Ministry of Ecology and Environment and National Bureau of Statistics, announcement of the 2022 '
     'electricity CO2 emission factors (December 2024); natural gas: about 2.16 kgCO2/m³', NULL);

-- Natural gas: the standard gives 1.1000-1.3300 kgce/m³ by calorific value; 1.2143 is the common value.
INSERT INTO coal_factor (version, energy_type, unit, kgce_per_unit) VALUES
    ('gb2589-2020-equivalent', 'electricity', 'kWh', 0.1229),
    ('gb2589-2020-equivalent', 'natural_gas', 'm³', 1.2143),
    ('gb2589-2020-equivalent', 'heat', 'MJ', 0.03412),
    ('gb2589-2020-equivalent', 'raw_coal', 'kg', 0.7143),
    ('gb2589-2020-equivalent', 'gasoline', 'kg', 1.4714),
    ('gb2589-2020-equivalent', 'diesel', 'kg', 1.4571),
    ('gb2589-2020-equivalent', 'lpg', 'kg', 1.7143);

INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit) VALUES
    ('cn-2022', 'electricity', 'national', 2022, 'kWh', 0.5703),
    ('cn-2022', 'natural_gas', 'national', NULL, 'm³', 2.16);
