"""Staff's corrections of a meter's day: a spike or a misread replaced by the amount staff state, with the reason.

The day's figure becomes the correction and every figure summed from it follows (months, years, comprehensive
energy, carbon, indicators, rankings, quotas, series, exports), each marked with how many corrected meter-days it
holds; what the readings counted stays beside it (`original`), a recount or a rebuild applies the correction again,
and withdrawing it gives the day back what its readings counted. The amount is what staff state: a later change of
the meter's multiplier changes what the readings count (`original`), never the correction. Who may: whoever may
change the meter's registry (`registry:write`, within their scope), as for held gaps (api/energy/gaps.py); the audit
log records each change.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from api.errors import NotFound
from api.fields import Reason
from db import corrections as corrections_db
from db.scope import Scope
from domain.periods import FIRST_YEAR, LAST_YEAR

# A day's consumption as staff state it: not negative, to the millionth the roll-up resolves (domain/counters.py).
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=6),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,6})?$"}),
]
Day = Annotated[
    date, Field(ge=date(FIRST_YEAR, 1, 1), le=date(LAST_YEAR, 12, 31), description="the local day corrected")
]


class CorrectionSet(BaseModel):
    """A meter's day corrected: the amount it consumed, as staff state it, and why."""

    model_config = ConfigDict(extra="forbid")

    day: Day
    amount: Amount = Field(
        description="the day's consumption in the meter's consumption unit (multiplier applied), to the millionth"
    )
    reason: Reason = Field(description="why: what staff found out (a spike after a meter swap, a misread...)")


class CorrectionWithdrawal(BaseModel):
    """The correction of a meter's day withdrawn: the day gets back what its readings counted."""

    model_config = ConfigDict(extra="forbid")

    day: Day
    reason: Reason = Field(description="why it is withdrawn")


class Correction(BaseModel):
    """A correction of a meter's day, applying or withdrawn, beside what the readings counted."""

    id: int
    meter_id: str
    unit: str = Field(description="the meter's consumption unit, of `amount` and `original`")
    day: date
    amount: Decimal = Field(description="the corrected amount")
    original: Decimal | None = Field(
        description="what the readings count for the day (the roll-up's figure without correction); null when the "
        "day is not counted (no readings bracket it)"
    )
    applied: bool = Field(description="whether the day's figure, and every figure summed from it, is this correction")
    reason: str
    corrected_by: int = Field(description="the user who made it")
    corrected_by_name: str
    corrected_at: datetime
    withdrawn_by: int | None = Field(description="the user who withdrew it (or made a later one of the same day)")
    withdrawn_by_name: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None


_FIELDS = tuple(Correction.model_fields)


class NoCountedDay(NotFound):
    """The meter has no counted day to correct (404)."""


async def correct(conn: AsyncConnection, scope: Scope, meter_id: str, body: CorrectionSet, user_id: int) -> Correction:
    """Make the correction apply to the meter's day (replacing the one that applied), at once.

    Raises:
        NotFound: no such meter in the scope.
        NoCountedDay: the day is not counted (no readings bracket it), so there is no figure to correct.
    """
    await _visible(conn, scope, meter_id)
    made = await corrections_db.correct(
        conn, meter_id, body.day, amount=body.amount, reason=body.reason, user_id=user_id
    )
    if made is None:
        raise NoCountedDay(
            f"meter {meter_id} has no counted day {body.day.isoformat()} (no readings bracket it): a correction "
            "replaces the figure of a counted day"
        )
    return await _one(conn, scope, made)


async def withdraw(
    conn: AsyncConnection, scope: Scope, meter_id: str, body: CorrectionWithdrawal, user_id: int
) -> Correction:
    """Withdraw the correction of the meter's day, at once.

    Raises:
        NotFound: no such meter in the scope, or no correction applies to the day.
    """
    await _visible(conn, scope, meter_id)
    withdrawn = await corrections_db.withdraw(conn, meter_id, body.day, body.reason, user_id)
    if withdrawn is None:
        raise NotFound(f"no correction of meter {meter_id} applies to {body.day.isoformat()}")
    return await _one(conn, scope, withdrawn)


async def corrections(
    conn: AsyncConnection,
    scope: Scope,
    *,
    meter_id: str | None,
    start: date | None,
    end: date | None,
    withdrawn: bool | None,
) -> list[Correction]:
    """Corrections of the scope's meters (of one meter), the latest first.

    Raises:
        NotFound: `meter_id` names no meter of the scope.
    """
    if meter_id is not None:
        await _visible(conn, scope, meter_id)
    rows = await corrections_db.listed(conn, scope, meter_id=meter_id, start=start, end=end, withdrawn=withdrawn)
    return [Correction(**dict(zip(_FIELDS, row, strict=True))) for row in rows]


async def _visible(conn: AsyncConnection, scope: Scope, meter_id: str) -> None:
    if await corrections_db.unit_of(conn, scope, meter_id) is None:
        raise NotFound(f"no meter {meter_id}")


async def _one(conn: AsyncConnection, scope: Scope, correction_id: int) -> Correction:
    [row] = await corrections_db.listed(conn, scope, correction_id=correction_id)
    return Correction(**dict(zip(_FIELDS, row, strict=True)))
