"""The declared source: which of the meters and the entries (bills, delivery notes, manual figures) counts for an
institution's energy type in a year, and the two side by side so that staff see what they choose between.

One source counts (db/declared.py): the one staff declared here, else by default the meters where a main meter of
the type has data that year, else the entries. The other is shown beside it, never added. Who may declare: energy
staff and admins (`registry:write`): the choice moves the assessed figures, so a unit does not pick its own lower
figure. Every declaration is in the audit log.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.energy.entries import visible
from api.fields import Reason, Text
from db import declared, energy_reports, fuel
from db import entries as entries_db
from db.energy_reports import Filters
from db.scope import Scope
from domain.entries import CountingSource, EntryType, report_unit
from domain.periods import FIRST_YEAR, LAST_YEAR

Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
# The types fuel cards buy that entries may also state (as other fuel, 其他用油).
VEHICLE_FUELS = frozenset({"gasoline", "diesel"})


class SourceDeclaration(BaseModel):
    """Which source counts for an institution's type in a year, and why."""

    model_config = ConfigDict(extra="forbid")

    energy_type: EntryType
    year: Year
    source: CountingSource = Field(description="meters or entries")
    reason: Reason = Field(description="why: a meter that misses a supply, bills that cover more than the meter...")


class SourceRow(BaseModel):
    """An institution's type in a year: what the meters count, what the entries state, and which counts."""

    institution_id: str
    institution_name: str
    energy_type: str
    unit: str = Field(description="the report unit of `metered`, `entered` and `difference`")
    metered: Decimal | None = Field(description="the main meters' consumption; null: no meter data that year")
    entered: Decimal | None = Field(description="the entries' quantity that falls on the year; null: none stated")
    difference: Decimal | None = Field(description="entered minus metered; null unless both have a figure")
    cost: Decimal | None = Field(description="yuan, from the entries whichever source counts; null: none stated")
    source: CountingSource | None = Field(description="the one that counts in every figure; null: neither has any")
    source_declared: bool = Field(description="staff declared it; false: the default rule chose it")
    rule: str = Field(description="why this source counts, in words")
    vehicle_fuel: Decimal | None = Field(
        default=None,
        description="gasoline and diesel: what the institution's vehicles bought this year on fuel-card statements "
        "(POST /fuel/statements), in the report unit; it counts apart, as vehicle fuel (车辆用油), never in "
        "`metered` or `entered`; null: none",
    )
    possible_double_entry: bool = Field(
        default=False,
        description="entries of the type and statements' vehicle fuel both state a quantity this year: if the entries "
        "are the vehicles' fuel, they count it twice (once more as other fuel, 其他用油): withdraw them",
    )


class SourceReport(BaseModel):
    year: int
    rows: list[SourceRow]


def rule(c: declared.Compared) -> str:
    """Why the source counts, in words."""
    if c.source_declared:
        return f"declared by staff: {c.declared_reason}"
    if c.source == "meters" and not c.main_metered:
        return "default: only sub-item meters of the type have data this year, and no entry"
    if c.source == "meters":
        return "default: a main meter of the type has data this year"
    if c.source == "entries":
        return "default: no main meter of the type has data this year"
    return "nothing is known of the type this year"


async def report(conn: AsyncConnection, scope: Scope, year: int, filters: Filters) -> SourceReport:
    """Both sources of each selected institution's types in the year, in institution name and type order."""
    institutions = await energy_reports.institutions(conn, scope, filters)
    names = {row[0]: row[1] for row in institutions}
    compared = await declared.compare(conn, year, list(names))
    # Fuel bought on fuel cards comes in as statements; a gasoline or diesel entry beside it is shown with it, since
    # staff typing the same fuel as a bill would count it twice (docs/factors.md).
    vehicle = {
        (d.institution_id, d.energy_type): d.quantity
        for d in await fuel.yearly(conn, year, list(names))
        if d.energy_type in VEHICLE_FUELS
    }
    rows = [
        SourceRow(
            institution_id=c.institution_id,
            institution_name=names[c.institution_id],
            energy_type=c.energy_type,
            unit=report_unit(c.energy_type),
            metered=c.metered,
            entered=c.entered,
            difference=c.difference,
            cost=c.cost,
            source=c.source,
            source_declared=c.source_declared,
            rule=rule(c),
            vehicle_fuel=vehicle.get((c.institution_id, c.energy_type)),
            possible_double_entry=c.entered is not None and vehicle.get((c.institution_id, c.energy_type)) is not None,
        )
        for c in compared
    ]
    rows.sort(key=lambda r: (r.institution_name, r.institution_id, r.energy_type))
    return SourceReport(year=year, rows=rows)


async def declare(
    conn: AsyncConnection, scope: Scope, institution_id: Text, body: SourceDeclaration, user_id: int
) -> SourceRow:
    """Make the source count for the institution's type in the year.

    Raises:
        NotFound: no such institution in the scope.
    """
    await visible(conn, scope, institution_id)
    await entries_db.declare(
        conn, institution_id, body.energy_type, body.year, source=body.source, reason=body.reason, user_id=user_id
    )
    result = await report(conn, scope, body.year, Filters(institution_id=institution_id))
    return next(r for r in result.rows if r.energy_type == body.energy_type)
