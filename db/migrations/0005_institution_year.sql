-- What energy staff need of an institution besides where it is.
ALTER TABLE institution
    ADD COLUMN key_energy_unit boolean NOT NULL DEFAULT false,  -- 重点用能单位: its consumption is published
    ADD COLUMN in_assessment   boolean NOT NULL DEFAULT false;  -- 在线考核: in the yearly online assessment

-- Floor area (建筑面积) and energy-using headcount (用能人数) change over the years: per-area and
-- per-capita indicators of a year divide by that year's values.
CREATE TABLE institution_year (
    institution_id  text             NOT NULL REFERENCES institution (id),
    year            integer          NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    floor_area_m2   double precision CHECK (floor_area_m2 > 0),
    headcount       integer          CHECK (headcount > 0),
    PRIMARY KEY (institution_id, year)
);
