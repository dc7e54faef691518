"""The rows of declared consumption (db/declared.py): what an institution consumed of a type, for a purpose, from
which source. Apart so that db/declared.py, which gathers them, and the modules whose sources it gathers (db/fuel.py)
both import them and neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

# What a quantity was consumed for: the survey reports vehicle fuel (车辆用油量) apart from other fuel.
Purpose = Literal["building", "vehicle"]

# The sources a declared quantity comes from: the meters' roll-up, entries (bills, delivery notes, manual figures),
# and the fuel-card and charging statements of the institution's vehicles (db/fuel.py).
Source = Literal["meters", "entries", "fuel_statements"]


@dataclass(frozen=True, slots=True)
class Declared:
    """One institution's consumption of one type for one purpose in a year.

    `quantity` is in the type's report unit (domain/measures.py REPORT_UNIT), `cost` in yuan; None where nothing
    was reported, never zero. `source` names what the quantity came from (a `Source`); `source_declared`
    whether staff declared it (False: the default rule chose it). `heating_quantity` and `heating_cost` are the part
    of the entries entered for heating (采暖), None where none was.
    """

    institution_id: str
    energy_type: str
    purpose: Purpose
    quantity: Decimal | None
    cost: Decimal | None
    source: str
    source_declared: bool = False
    heating_quantity: Decimal | None = None
    heating_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Monthly:
    """Consumption that counts beside the meters, of one institution's type in a local month from one source, in the
    report unit: entries where they are the type's counting source, and the vehicles' fuel statements always."""

    institution_id: str
    energy_type: str
    month: date
    quantity: Decimal
    source: Source = "entries"
