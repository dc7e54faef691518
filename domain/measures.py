"""Units of measure: those a meter may count in, per energy type, and how each converts into the unit of a factor
and of a report.

Factors are per kWh, m³, MJ or kg; meters count in what their dials show. A meter's unit must be one of these, so
that no indicator ever multiplies GJ by a factor per MJ. ("Unit" alone, elsewhere, is an organisation.)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

# unit -> (the factors' unit it converts into, how many of those one of it is)
_UNITS: Final[dict[str, tuple[str, Decimal]]] = {
    "kWh": ("kWh", Decimal(1)),
    "MWh": ("kWh", Decimal(1000)),
    "m3": ("m³", Decimal(1)),
    "m³": ("m³", Decimal(1)),
    "MJ": ("MJ", Decimal(1)),
    "GJ": ("MJ", Decimal(1000)),
    "kg": ("kg", Decimal(1)),
    "t": ("kg", Decimal(1000)),
    # Other energy (其他能源), entered from bills already converted into standard coal.
    "kgce": ("kgce", Decimal(1)),
    "tce": ("kgce", Decimal(1000)),
}

UNITS_BY_ENERGY: Final[dict[str, frozenset[str]]] = {
    "electricity": frozenset({"kWh", "MWh"}),
    "water": frozenset({"m3", "m³", "t"}),
    "natural_gas": frozenset({"m3", "m³"}),
    "heat": frozenset({"MJ", "GJ"}),
    "raw_coal": frozenset({"kg", "t"}),
    "gasoline": frozenset({"kg", "t"}),
    "diesel": frozenset({"kg", "t"}),
    "lpg": frozenset({"kg", "t"}),
    "other": frozenset({"kgce", "tce"}),
}

# What indicators report each energy type in, and what its standard-coal and carbon factors are per.
REPORT_UNIT: Final[dict[str, str]] = {
    "electricity": "kWh",
    "water": "m³",
    "natural_gas": "m³",
    "heat": "MJ",
    "raw_coal": "kg",
    "gasoline": "kg",
    "diesel": "kg",
    "lpg": "kg",
    "other": "kgce",
}


def unit_problem(energy_type: str, unit: str) -> str | None:
    """What is wrong with a meter of this energy type counting in this unit, or None."""
    allowed = UNITS_BY_ENERGY.get(energy_type)
    if allowed is None:
        return f"unknown energy type {energy_type!r}"
    if unit not in allowed:
        return f"{energy_type} meters count in one of {', '.join(sorted(allowed))}, not {unit!r}"
    return None


def to_report_unit(energy_type: str, unit: str) -> Decimal:
    """How many of the energy type's report unit one `unit` is (water in t counts as m³)."""
    if energy_type == "water" and unit == "t":
        return Decimal(1)
    target, scale = _UNITS[unit]
    if target != _UNITS[REPORT_UNIT[energy_type]][0]:
        raise ValueError(f"{unit} does not convert into {REPORT_UNIT[energy_type]}")
    return scale
