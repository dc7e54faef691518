"""What an institution consumes and how it is assessed: energy and resource types, electricity's sub-items, the
categories of institutions, the assessed indicators and their quota status."""

from __future__ import annotations

from typing import Final, Literal, get_args

# What a meter measures. Water is a resource, not energy: it counts in water indicators only, never in
# comprehensive energy.
EnergyType = Literal["electricity", "water", "natural_gas", "heat", "raw_coal", "gasoline", "diesel", "lpg"]

# Sub-item metering (分项计量) of electricity in public buildings.
SubItem = Literal["lighting_socket", "air_conditioning", "power", "special"]

# The categories of the registry of energy-using institutions (能耗统计名录库); quotas and rankings are per category.
Category = Literal["agency", "public_institution", "school", "hospital", "community", "venue"]
CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)

# The three indicators the bureau is assessed on: water per capita (m³/person), comprehensive energy per capita
# (kgce/person) and per floor area (kgce/m²).
Indicator = Literal["water_per_capita", "energy_per_capita", "energy_per_area"]
INDICATORS: Final[tuple[Indicator, ...]] = get_args(Indicator)
# An indicator against its quota: over it, near it (at the near share or more), or within it.
QuotaStatus = Literal["over", "near", "ok"]

# Why a figure has no value. Missing is not zero: a period with no readings, an institution without the year's floor
# area or headcount has no figure (null), and is never ranked as the best. A period its readings do not cover whole
# (domain/coverage.py) has a figure that is too low for now: it is shown, flagged `incomplete_period`, and not ranked.
NoFigure = Literal["no_readings", "no_floor_area", "no_headcount", "incomplete_period"]
NO_FIGURE_REASONS: Final[tuple[NoFigure, ...]] = get_args(NoFigure)
