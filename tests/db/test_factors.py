"""Conversion factors are seeded as versioned data with their sources, with the values domain.md gives."""

from __future__ import annotations

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
