-- The equivalent-value (等价值) standard-coal set beside the calorific-equivalent (当量值) one, the provincial
-- electricity CO2 factors, and the publication dates and sources read since 0021 (issue 15, point 8).
--
-- 1. A standard-coal version names its method. Comprehensive energy of public institutions counts electricity
--    at its calorific equivalent (当量值, 0.1229 kgce/kWh): that stays the default whatever is added later.
--    The equivalent-value method (等价值) counts it at the coal burned to supply a kWh in a given year.
-- 2. 'cec-2024-equivalent-value': electricity at 302.4 gce/kWh, the 2024 coal consumption per kWh supplied
--    (供电标准煤耗) of the China Electricity Council's 中国电力行业年度发展报告2025, as quoted by a secondary
--    source (see its `unconfirmed`). A fuel burned on site counts at its calorific value in either method, so
--    the other energies are those of gb2589-2020-equivalent.
-- 3. 'cn-2023-average-provinces': the MEE/NBS average electricity CO2 factors of 2021-2023, national, regional
--    and provincial (30 provinces for 2021 and 2022; the eight provinces read for 2023), as one version with the
--    region dimension of carbon_factor. Existing versions keep their values (a published figure must stay
--    recomputable); it is dated before 0006's sets like 0021's, so the default carbon version is unchanged.
-- 4. Publication dates and announcement numbers read since 0021: the 2023 announcement is 公告2025年第47号 of
--    2025-12-31; the 2022 one 公告2024年第33号.

ALTER TABLE factor_version
    ADD COLUMN method text CHECK (method IN ('calorific_equivalent', 'equivalent_value'));

UPDATE factor_version SET method = 'calorific_equivalent' WHERE version = 'gb2589-2020-equivalent';
-- A version added through the API before this migration is assumed calorific: the only method there was.
UPDATE factor_version SET method = 'calorific_equivalent' WHERE kind = 'standard_coal' AND method IS NULL;

ALTER TABLE factor_version
    ADD CONSTRAINT factor_version_method_of_kind CHECK ((kind = 'standard_coal') = (method IS NOT NULL));

INSERT INTO factor_version (version, kind, method, title, source, published_on, intended_use, unconfirmed)
VALUES (
    'cec-2024-equivalent-value', 'standard_coal', 'equivalent_value',
    'Standard coal equivalents, equivalent-value method (等价值): electricity at the 2024 coal consumption per kWh '
    'supplied, 0.3024 kgce/kWh',
    'Electricity: China Electricity Council (中国电力企业联合会), 中国电力行业年度发展报告2025 (annual development '
    'report of China''s power industry 2025): coal consumption per kWh supplied (供电标准煤耗) in 2024, 302.4 '
    'gce/kWh = 0.3024 kgce/kWh. Other energies: GB/T 2589-2020 as in gb2589-2020-equivalent (a fuel burned on '
    'site counts at its calorific value in either method).',
    NULL,
    'Comprehensive energy in the equivalent-value method (等价值), where electricity is to count at the primary '
    'energy burned to supply it. The public-institution statistics count it at its calorific equivalent '
    '(gb2589-2020-equivalent, the default).',
    'The 302.4 gce/kWh was read in a secondary source citing the report (a public methods note that also gives '
    '305.5 gce/kWh for 2020 from the NDRC/NEA 全国煤电机组改造升级实施方案 and 301.9 for 2023), not in the '
    'report itself; the report''s publication date was not read, so published_on is empty. Heat keeps its '
    'calorific equivalent (0.03412 kgce/MJ): no yearly heat-supply coal consumption was read.'
);

INSERT INTO coal_factor (version, energy_type, unit, kgce_per_unit)
SELECT 'cec-2024-equivalent-value', energy_type, unit,
       CASE WHEN energy_type = 'electricity' THEN 0.3024 ELSE kgce_per_unit END
FROM coal_factor WHERE version = 'gb2589-2020-equivalent';

-- 2. The provincial electricity factors.
INSERT INTO factor_version (version, kind, title, source, published_on, intended_use, unconfirmed, created_at)
VALUES (
    'cn-2023-average-provinces', 'carbon',
    'Electricity CO2 emission factors 2021-2023, national, regional and provincial averages (MEE/NBS); '
    'natural gas',
    'Ministry of Ecology and Environment and National Bureau of Statistics (生态环境部 国家统计局), average '
    'electricity CO2 emission factors (电力平均二氧化碳排放因子), national, regional and provincial: 2021 from '
    '关于发布2021年电力二氧化碳排放因子的公告 (公告2024年第12号, 2024-04-12, annex '
    'W020240412827267102800.pdf on www.mee.gov.cn); 2022 from '
    '关于发布2022年电力二氧化碳排放因子的公告 (公告2024年第33号, signed 2024-12-20, '
    'https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202412/t20241226_1099413.html); 2023 from '
    '关于发布2023年电力二氧化碳排放因子的公告 (公告2025年第47号, 2025-12-31, '
    'https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202512/t20251231_1139517.html; annex '
    'https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202512/W020251231726284332528.pdf, table 3: provinces). '
    'Natural gas: 2.1622 kgCO2/m³ = 389.31 GJ/10^4 m³ net calorific value x 15.3 tC/TJ carbon content x 99% '
    'oxidation x 44/12.',
    DATE '2025-12-31',
    'Carbon of electricity consumption (核算电力消费的二氧化碳排放量): the publishers'' stated use; a province''s '
    'factor for institutions in it.',
    'The annexes were not read. 2021 and 2022 provincial and regional values were read in a public transcription '
    'of the annexes (a table of 30 provinces, Tibet absent), which agrees with the ten 2022 provinces and seven '
    'regions the press reported (新京报, 2024-12-27) and with other catalogs read (广东 2022 0.4403, 安徽 2021 '
    '0.7075, 华北 2021 0.7120); 2023 provincial values only for the eight provinces found quoted from annex '
    'table 3 (北京, 上海, 江苏, 浙江, 福建, 河南, 广东, 四川); other provinces fall back to 2022 by the '
    'newest-year rule. The 2023 date is the publication date those sources give. Natural gas parameters are '
    'those of the NDRC enterprise greenhouse-gas accounting guides, not checked against their text.',
    (SELECT created_at FROM factor_version WHERE version = 'cn-2022') - interval '3 seconds'
);

INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit)
SELECT 'cn-2023-average-provinces', 'electricity', region, year, 'kWh', value
FROM (VALUES
    ('national', 2021, 0.5568), ('national', 2022, 0.5366), ('national', 2023, 0.5306),
    ('north_china', 2021, 0.7120), ('north_china', 2022, 0.6776), ('north_china', 2023, 0.6361),
    ('northeast_china', 2021, 0.6012), ('northeast_china', 2022, 0.5564), ('northeast_china', 2023, 0.5122),
    ('east_china', 2021, 0.5992), ('east_china', 2022, 0.5617), ('east_china', 2023, 0.5500),
    ('central_china', 2021, 0.5354), ('central_china', 2022, 0.5395), ('central_china', 2023, 0.5271),
    ('northwest_china', 2021, 0.5951), ('northwest_china', 2022, 0.5857), ('northwest_china', 2023, 0.5543),
    ('south_china', 2021, 0.4326), ('south_china', 2022, 0.3869), ('south_china', 2023, 0.4042),
    ('southwest_china', 2021, 0.2113), ('southwest_china', 2022, 0.2268), ('southwest_china', 2023, 0.2472),
    ('beijing', 2021, 0.5688), ('beijing', 2022, 0.5580), ('beijing', 2023, 0.5554),
    ('tianjin', 2021, 0.7355), ('tianjin', 2022, 0.7041),
    ('hebei', 2021, 0.7901), ('hebei', 2022, 0.7252),
    ('shanxi', 2021, 0.7222), ('shanxi', 2022, 0.7096),
    ('inner_mongolia', 2021, 0.7025), ('inner_mongolia', 2022, 0.6849),
    ('liaoning', 2021, 0.5876), ('liaoning', 2022, 0.5626),
    ('jilin', 2021, 0.5629), ('jilin', 2022, 0.4932),
    ('heilongjiang', 2021, 0.6342), ('heilongjiang', 2022, 0.5368),
    ('shanghai', 2021, 0.5834), ('shanghai', 2022, 0.5849), ('shanghai', 2023, 0.5737),
    ('jiangsu', 2021, 0.6451), ('jiangsu', 2022, 0.5978), ('jiangsu', 2023, 0.5827),
    ('zhejiang', 2021, 0.5422), ('zhejiang', 2022, 0.5153), ('zhejiang', 2023, 0.4974),
    ('anhui', 2021, 0.7075), ('anhui', 2022, 0.6782),
    ('fujian', 2021, 0.4711), ('fujian', 2022, 0.4092), ('fujian', 2023, 0.4211),
    ('jiangxi', 2021, 0.5835), ('jiangxi', 2022, 0.5752),
    ('shandong', 2021, 0.6838), ('shandong', 2022, 0.6410),
    ('henan', 2021, 0.6369), ('henan', 2022, 0.6058), ('henan', 2023, 0.5897),
    ('hubei', 2021, 0.3672), ('hubei', 2022, 0.4364),
    ('hunan', 2021, 0.5138), ('hunan', 2022, 0.4900),
    ('guangdong', 2021, 0.4715), ('guangdong', 2022, 0.4403), ('guangdong', 2023, 0.4419),
    ('guangxi', 2021, 0.5154), ('guangxi', 2022, 0.4044),
    ('hainan', 2021, 0.4524), ('hainan', 2022, 0.4184),
    ('chongqing', 2021, 0.4743), ('chongqing', 2022, 0.5227),
    ('sichuan', 2021, 0.1255), ('sichuan', 2022, 0.1404), ('sichuan', 2023, 0.1564),
    ('guizhou', 2021, 0.5182), ('guizhou', 2022, 0.4989),
    ('yunnan', 2021, 0.1235), ('yunnan', 2022, 0.1073),
    ('shaanxi', 2021, 0.6336), ('shaanxi', 2022, 0.6558),
    ('gansu', 2021, 0.4955), ('gansu', 2022, 0.4772),
    ('qinghai', 2021, 0.1326), ('qinghai', 2022, 0.1567),
    ('ningxia', 2021, 0.6546), ('ningxia', 2022, 0.6423),
    ('xinjiang', 2021, 0.6577), ('xinjiang', 2022, 0.6231)
) AS f (region, year, value);

INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit) VALUES
    ('cn-2023-average-provinces', 'natural_gas', 'national', NULL, 'm³', 2.1622);

-- 4. What was read since 0021: announcement numbers, addresses and the 2023 date. The values stay.
UPDATE factor_version SET
    source = source || ' Announcement 公告2024年第33号: '
                    'https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202412/t20241226_1099413.html.'
WHERE version = 'cn-2022-average';

UPDATE factor_version SET
    source = source || ' Announcement 公告2025年第47号 of 2025-12-31: '
                    'https://www.mee.gov.cn/xxgk2018/xxgk/xxgk01/202512/t20251231_1139517.html.',
    published_on = DATE '2025-12-31',
    unconfirmed = 'The announcement''s date is the publication date that sources quoting it give (its text was '
                  'not read); 2023 regional values as reported by the press (光明日报) and quoted from the annex '
                  'by others; no 2023 provincial values in this version (see cn-2023-average-provinces). Natural '
                  'gas parameters as in cn-2022-average.'
WHERE version = 'cn-2023-average';

UPDATE factor_version SET
    source = source || ' The notice names 0.5703 tCO2/MWh the 2022 national grid average emission factor '
                       '(2022年度全国电网平均排放因子), as reported on 2023-02-15 by 碳交易网 '
                       '(http://tanpaifang.com/tanguwen/2023/0215/94510.html).',
    unconfirmed = 'The notice''s text, number and date were not read (the press report of 2023-02-15 says it was '
                  'issued days before), so published_on is empty; the natural gas parameters are those of the '
                  'NDRC enterprise greenhouse-gas accounting guides, not checked against their text. Stored as the '
                  'year 2022 in 0006.'
WHERE version = 'cn-2022';
