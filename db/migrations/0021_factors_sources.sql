-- Factor sets say what they are for and what could not be checked (issue 15, point 8).
--
-- 0006 seeded 'cn-2022' with 0.5703 kgCO2/kWh and cited the MEE/NBS announcement of the 2022 electricity
-- factors. That announcement's national average for 2022 is 0.5366; 0.5703 is the national grid factor MEE set
-- for power-sector enterprises' greenhouse-gas reports. Both are legitimate and different, so each is its own
-- version. A version's values never change (a published figure must stay recomputable): 'cn-2022' keeps its
-- values and only its label and source are corrected; the national averages are new versions.
--
-- The defaults of computations (the newest version of each kind) stay what they were: the new versions are
-- dated just before 0006's, so a report that names no version computes as before. Which set the bureau's
-- carbon accounting should use by default is its decision, made by naming a version.

ALTER TABLE factor_version
    ADD COLUMN intended_use text,  -- what the set is for, in the publisher's words where it has them
    ADD COLUMN unconfirmed  text;  -- values or dates not checked against the source's own text; NULL: all checked

UPDATE factor_version SET
    title = 'Standard coal equivalents, calorific-equivalent method (当量值)',
    source = 'GB/T 2589-2020 General principles for calculation of the comprehensive energy consumption '
             '(综合能耗计算通则), Appendix A; issued 2020-09-29, in force 2021-04-01. National Bureau of Statistics: '
             'electricity in the calorific-equivalent method is 0.1229 kgce/kWh (China Statistical Yearbook, '
             'notes to energy). Natural gas: the standard''s range is 1.1000-1.3300 kgce/m³ by calorific value; '
             '1.2143 is 8,500 kcal/m³ (35,588 kJ/m³) over 7,000 kcal/kgce.',
    published_on = DATE '2020-09-29',
    intended_use = 'Comprehensive energy (综合能耗) of public institutions: the public-institution energy statistics '
                   'count electricity at its calorific equivalent.',
    unconfirmed = 'Appendix A''s table was not read here: the values are those the statistics practice uses '
                  '(0.1229 for electricity confirmed from the NBS yearbook''s notes).'
WHERE version = 'gb2589-2020-equivalent';

-- Natural gas, derived (kgCO2/m³) = net calorific value x carbon content x oxidation x 44/12
--   = 389.31 GJ/10^4 m³ x 15.3 kgC/GJ x 0.99 x 44/12 = 0.038931 x 15.3 x 0.99 x 3.6667 = 2.1622 (2.16 rounded).
-- 100% oxidation (IPCC 2006's default) would give 2.1840.
UPDATE factor_version SET
    title = 'National grid emission factor for enterprises'' greenhouse-gas reports (0.5703); natural gas 2.16',
    source = 'Electricity: 0.5703 tCO2/MWh, the national grid average emission factor the Ministry of Ecology and '
             'Environment set for enterprises'' greenhouse-gas accounting and reports (notice on the management of '
             'power-sector enterprises'' greenhouse-gas emission reports for 2023-2025, 关于做好2023—2025年发电行业'
             '企业温室气体排放报告管理有关工作的通知). It is not the MEE/NBS national average electricity factor for '
             '2022 (0.5366: version cn-2022-average). Natural gas: 2.16 kgCO2/m³ = 389.31 GJ/10^4 m³ net calorific '
             'value x 15.3 tC/TJ carbon content (IPCC default) x 99% oxidation x 44/12 = 2.1622, rounded.',
    intended_use = 'Enterprises'' greenhouse-gas reports to MEE (purchased electricity). Kept because figures '
                   'were published with it; consumption-side carbon accounting uses the national average factors.',
    unconfirmed = 'The notice''s text, number and date were not read here, so published_on is empty; the natural gas '
                  'parameters are those of the NDRC enterprise greenhouse-gas accounting guides, not checked '
                  'against their text. Stored as the year 2022 in 0006.'
WHERE version = 'cn-2022';

INSERT INTO factor_version (version, kind, title, source, published_on, intended_use, unconfirmed, created_at)
SELECT v.version, 'carbon', v.title, v.source, v.published_on, v.intended_use, v.unconfirmed,
       (SELECT created_at FROM factor_version WHERE version = 'cn-2022') - v.before
FROM (VALUES
    ('cn-2022-average',
     'Electricity CO2 emission factors, national average 2021-2022 and regional and provincial 2022 (MEE/NBS); '
     'natural gas',
     'Ministry of Ecology and Environment and National Bureau of Statistics (生态环境部 国家统计局): announcement '
     'of the 2022 electricity CO2 emission factors (关于发布2022年电力二氧化碳排放因子的公告), signed 2024-12-20: '
     'national average 0.5366 kgCO2/kWh, regional and provincial averages; 2021 national average 0.5568 from the '
     'announcement of the 2021 factors (公告2024年第12号, 2024-04-12), same method and data. Natural gas: 2.1622 '
     'kgCO2/m³ = 389.31 GJ/10^4 m³ net calorific value x 15.3 tC/TJ carbon content x 99% oxidation x 44/12.',
     DATE '2024-12-20',
     'Carbon of electricity consumption (核算电力消费的二氧化碳排放量): the publishers'' stated use.',
     'Regional and provincial values as reported by the press on 2024-12-27 (新京报): only the ten provinces that '
     'report names; the annex''s other provinces were not read. Natural gas parameters are those of the NDRC '
     'enterprise greenhouse-gas accounting guides, not checked against their text.',
     interval '2 seconds'),
    ('cn-2023-average',
     'Electricity CO2 emission factors, national average 2021-2023 and regional 2022-2023 (MEE/NBS); natural gas',
     'Ministry of Ecology and Environment and National Bureau of Statistics: announcement of the 2023 electricity '
     'CO2 emission factors (关于发布2023年电力二氧化碳排放因子的公告): national average 0.5306 kgCO2/kWh, '
     'regional averages, same method and data as 2021 and 2022; 2022 and 2021 values as in cn-2022-average. '
     'Natural gas as in cn-2022-average.',
     NULL::date,
     'Carbon of electricity consumption (核算电力消费的二氧化碳排放量): the publishers'' stated use.',
     'The announcement''s date was not read (press reports of January 2026 call it recent), so published_on is '
     'empty; 2023 regional values as reported by the press (光明日报); no 2023 provincial values were read. '
     'Natural gas parameters as in cn-2022-average.',
     interval '1 second')
) AS v (version, title, source, published_on, intended_use, unconfirmed, before);

-- Regions: 'national'; the seven regional grids by their announcement names (华北 north_china, 东北
-- northeast_china, 华东 east_china, 华中 central_china, 西北 northwest_china, 南方 south_china, 西南
-- southwest_china); provinces by their pinyin names.
INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit)
SELECT version, 'electricity', region, year, 'kWh', value
FROM (VALUES
    ('national', 2021, 0.5568), ('national', 2022, 0.5366),
    ('north_china', 2022, 0.6776), ('northeast_china', 2022, 0.5564), ('east_china', 2022, 0.5617),
    ('central_china', 2022, 0.5395), ('northwest_china', 2022, 0.5857), ('south_china', 2022, 0.3869),
    ('southwest_china', 2022, 0.2268),
    ('hebei', 2022, 0.7252), ('shanxi', 2022, 0.7096), ('tianjin', 2022, 0.7041), ('inner_mongolia', 2022, 0.6849),
    ('anhui', 2022, 0.6782), ('fujian', 2022, 0.4092), ('guangxi', 2022, 0.4044), ('qinghai', 2022, 0.1567),
    ('sichuan', 2022, 0.1404), ('yunnan', 2022, 0.1073)
) AS f (region, year, value)
CROSS JOIN (VALUES ('cn-2022-average'), ('cn-2023-average')) AS v (version);

INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit) VALUES
    ('cn-2023-average', 'electricity', 'national', 2023, 'kWh', 0.5306),
    ('cn-2023-average', 'electricity', 'north_china', 2023, 'kWh', 0.6361),
    ('cn-2023-average', 'electricity', 'northeast_china', 2023, 'kWh', 0.5122),
    ('cn-2023-average', 'electricity', 'east_china', 2023, 'kWh', 0.5500),
    ('cn-2023-average', 'electricity', 'central_china', 2023, 'kWh', 0.5271),
    ('cn-2023-average', 'electricity', 'northwest_china', 2023, 'kWh', 0.5543),
    ('cn-2023-average', 'electricity', 'south_china', 2023, 'kWh', 0.4042),
    ('cn-2023-average', 'electricity', 'southwest_china', 2023, 'kWh', 0.2472),
    ('cn-2022-average', 'natural_gas', 'national', NULL, 'm³', 2.1622),
    ('cn-2023-average', 'natural_gas', 'national', NULL, 'm³', 2.1622);
