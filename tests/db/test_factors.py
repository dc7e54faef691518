"""Conversion factors are seeded as versioned data with their sources, with the values domain.md gives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg

from yiwang.stack import Stack


def test_standard_coal_factors_are_the_equivalent_values_of_gb_t_2589(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.url) as conn:
        rows = conn.execute(
            "SELECT energy_type, unit, kgce_per_unit FROM coal_factor WHERE version = 'gb2589-2020-equivalent'"
        ).fetchall()
        source = conn.execute("SELECT source FROM factor_version WHERE version = 'gb2589-2020-equivalent'").fetchone()
    assert {energy: (unit, value) for energy, unit, value in rows} == {
        "electricity": ("kWh", Decimal("0.1229")),
        "natural_gas": ("m³", Decimal("1.2143")),
        "heat": ("MJ", Decimal("0.03412")),
        "raw_coal": ("kg", Decimal("0.7143")),
        "gasoline": ("kg", Decimal("1.4714")),
        "diesel": ("kg", Decimal("1.4571")),
        "lpg": ("kg", Decimal("1.7143")),
    }
    assert source is not None
    assert "GB/T 2589" in source[0]


def test_electricity_carbon_is_chosen_by_year_and_region_and_a_second_factor_per_key_is_refused(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.url) as conn:
        value = conn.execute(
            "SELECT kgco2_per_unit FROM carbon_factor"
            " WHERE energy_type = 'electricity' AND region = 'national' AND year = 2022"
        ).fetchone()
        assert value == (Decimal("0.5703"),)
        try:
            conn.execute(
                "INSERT INTO carbon_factor (version, energy_type, region, year, unit, kgco2_per_unit)"
                " VALUES ('cn-2022', 'natural_gas', 'national', NULL, 'm³', 2.2)"
            )
        except psycopg.errors.UniqueViolation:
            refused = True
        else:
            refused = False
        conn.rollback()
    assert refused


def test_the_grid_factor_for_enterprise_reports_no_longer_claims_the_national_average_source(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.url) as conn:
        title, source, use = conn.execute(
            "SELECT title, source, intended_use FROM factor_version WHERE version = 'cn-2022'"
        ).fetchone() or ("", "", "")
    # 0.5703 is MEE's grid factor for enterprises' greenhouse-gas reports, not the MEE/NBS 2022 national average.
    assert "(national average)" not in title
    assert "enterprises' greenhouse-gas reports" in title
    assert "announcement of the 2022 electricity CO2 emission factors" not in source
    assert "0.5703" in source  # says which figure it is
    assert "0.5366" in source  # and which it is not
    assert "2.1622" in source  # the natural gas factor is derived from cited parameters
    assert use


def test_the_national_average_electricity_factors_are_their_own_versions_with_sources(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.url) as conn:
        rows = conn.execute(
            """SELECT version, region, year, kgco2_per_unit FROM carbon_factor
               WHERE version IN ('cn-2022-average', 'cn-2023-average') AND energy_type = 'electricity'
                 AND region IN ('national', 'hebei', 'north_china')"""
        ).fetchall()
        heads = {
            v: (published, kind)
            for v, published, kind in conn.execute(
                """SELECT version, published_on, kind FROM factor_version
                   WHERE version IN ('cn-2022-average', 'cn-2023-average')"""
            ).fetchall()
        }
        gas = conn.execute(
            """SELECT DISTINCT kgco2_per_unit FROM carbon_factor
               WHERE version IN ('cn-2022-average', 'cn-2023-average') AND energy_type = 'natural_gas'"""
        ).fetchall()
    assert {(v, r, y): f for v, r, y, f in rows} == {
        ("cn-2022-average", "national", 2021): Decimal("0.5568"),
        ("cn-2022-average", "national", 2022): Decimal("0.5366"),
        ("cn-2022-average", "north_china", 2022): Decimal("0.6776"),
        ("cn-2022-average", "hebei", 2022): Decimal("0.7252"),
        ("cn-2023-average", "national", 2021): Decimal("0.5568"),
        ("cn-2023-average", "national", 2022): Decimal("0.5366"),
        ("cn-2023-average", "national", 2023): Decimal("0.5306"),
        ("cn-2023-average", "north_china", 2022): Decimal("0.6776"),
        ("cn-2023-average", "north_china", 2023): Decimal("0.6361"),
        ("cn-2023-average", "hebei", 2022): Decimal("0.7252"),
    }
    assert heads["cn-2022-average"] == (date(2024, 12, 20), "carbon")
    assert heads["cn-2023-average"] == (date(2025, 12, 31), "carbon")  # 公告2025年第47号
    # 389.31 GJ/10^4 m³ x 15.3 kgC/GJ x 0.99 x 44/12 = 2.16219 kgCO2/m³
    assert gas == [(Decimal("2.1622"),)]


def test_adding_the_national_averages_leaves_the_defaults_of_computations_as_they_were(stack: Stack) -> None:
    # The default is the newest version of a kind (other tests add their own later ones): the national averages
    # are older than 0006's set, so a report that names no version computes as it did.
    with psycopg.connect(stack.postgres.url) as conn:
        newer = conn.execute(
            """SELECT a.version FROM factor_version a, factor_version d
               WHERE d.version = 'cn-2022'
                 AND a.version IN ('cn-2022-average', 'cn-2023-average', 'cn-2023-average-provinces')
                 AND a.created_at >= d.created_at"""
        ).fetchall()
    assert newer == []


def test_a_standard_coal_version_names_its_method_and_the_calorific_one_is_the_default(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.url) as conn:
        methods = dict(
            conn.execute("SELECT version, method FROM factor_version WHERE kind = 'standard_coal'").fetchall()
        )
        assert methods["gb2589-2020-equivalent"] == "calorific_equivalent"
        assert methods["cec-2024-equivalent-value"] == "equivalent_value"
        try:
            conn.execute(
                "INSERT INTO factor_version (version, kind, title, source)"
                " VALUES ('no-method', 'standard_coal', 't', 's')"
            )
        except psycopg.errors.CheckViolation:
            refused = True
        else:
            refused = False
        conn.rollback()
    assert refused


def test_the_provincial_version_holds_thirty_provinces_and_the_2023_ones_read(stack: Stack) -> None:
    with psycopg.connect(stack.postgres.url) as conn:
        rows = conn.execute(
            """SELECT year, count(*) FROM carbon_factor
               WHERE version = 'cn-2023-average-provinces' AND energy_type = 'electricity'
                 AND region <> 'national' AND region NOT LIKE '%_china'
               GROUP BY year ORDER BY year"""
        ).fetchall()
        jiangsu = conn.execute(
            """SELECT year, kgco2_per_unit FROM carbon_factor
               WHERE version = 'cn-2023-average-provinces' AND region = 'jiangsu' ORDER BY year"""
        ).fetchall()
    assert rows == [(2021, 30), (2022, 30), (2023, 8)]
    assert jiangsu == [(2021, Decimal("0.6451")), (2022, Decimal("0.5978")), (2023, Decimal("0.5827"))]
