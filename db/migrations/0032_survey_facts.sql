-- What the public-institution energy statistics survey (公共机构能源资源消费统计调查制度) asks of each institution
-- besides its consumption, kept per year like floor area and headcount: an institution's code, supervising
-- department, division and category may change from one survey year to the next, and each year's forms report
-- that year's. floor_area_m2 is the survey's 建筑面积 and headcount its 用能人数.

-- Supervising departments (主管部门) as a hierarchy: a department may sit under another (a bureau under its
-- commission); the summary by department adds up each department's own institutions and those of every
-- department under it.
CREATE TABLE department (
    id          text PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    parent_id   text REFERENCES department (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX department_parent ON department (parent_id);

ALTER TABLE institution_year
    -- 统一社会信用代码 (GB 32100-2015): 18 characters, the check character verified by the API.
    ADD COLUMN credit_code        text CHECK (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$'),
    ADD COLUMN department_id      text REFERENCES department (id),
    -- 行政区划代码 (GB/T 2260): six digits, the county-level division the institution is in.
    ADD COLUMN division_code      text CHECK (division_code ~ '^[0-9]{6}$'),
    -- The survey's categories (its summary columns): 国家机关; 事业单位 by field (教育, 科技, 文化, 卫生, 体育,
    -- 其他); 团体组织.
    ADD COLUMN survey_category    text CHECK (survey_category IN ('state_organ', 'education', 'science', 'culture',
                                                                  'health', 'sports', 'other_institution',
                                                                  'association')),
    -- In the survey's registry (名录库) this year: since the 2025 revision only these are surveyed.
    ADD COLUMN in_survey          boolean,
    ADD COLUMN staff_quota        integer CHECK (staff_quota >= 0),                -- 编制人数
    ADD COLUMN heated_area_m2     double precision CHECK (heated_area_m2 >= 0),    -- 采暖面积
    ADD COLUMN cooled_area_m2     double precision CHECK (cooled_area_m2 >= 0),    -- 空调面积
    -- The heating form: heated area by how it is heated and paid, heating days, boilers.
    ADD COLUMN heated_area_own_m2          double precision CHECK (heated_area_own_m2 >= 0),           -- 独立供暖
    ADD COLUMN heated_area_central_area_m2 double precision CHECK (heated_area_central_area_m2 >= 0),  -- 集中, 按面积收费
    ADD COLUMN heated_area_central_heat_m2 double precision CHECK (heated_area_central_heat_m2 >= 0),  -- 集中, 按热量收费
    ADD COLUMN heating_days       integer CHECK (heating_days BETWEEN 0 AND 366),
    ADD COLUMN hot_water_boiler_kw double precision CHECK (hot_water_boiler_kw >= 0),  -- 热水锅炉热功率
    ADD COLUMN steam_boiler_t_h   double precision CHECK (steam_boiler_t_h >= 0);      -- 蒸汽锅炉蒸发量, t/h
CREATE INDEX institution_year_department ON institution_year (department_id, year);

-- The data-centre form: one row per machine room (数据中心机房) and year.
CREATE TABLE data_centre_room (
    institution_id         text             NOT NULL REFERENCES institution (id),
    year                   integer          NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    name                   text             NOT NULL CHECK (name <> ''),
    floor_area_m2          double precision CHECK (floor_area_m2 >= 0),  -- 机房建筑面积
    racks                  integer          CHECK (racks >= 0),          -- 机柜总数量
    it_power_kw            double precision CHECK (it_power_kw >= 0),    -- 设备总功率: IT设备
    cooling_power_kw       double precision CHECK (cooling_power_kw >= 0),       -- 空气调节设备
    distribution_power_kw  double precision CHECK (distribution_power_kw >= 0),  -- 配电及附属设备
    electricity_kwh        numeric          CHECK (electricity_kwh >= 0),        -- 总用电量
    it_kwh                 numeric          CHECK (it_kwh >= 0),
    cooling_kwh            numeric          CHECK (cooling_kwh >= 0),
    distribution_kwh       numeric          CHECK (distribution_kwh >= 0),
    PRIMARY KEY (institution_id, year, name)
);
