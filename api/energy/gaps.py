"""Held gaps decided by staff: a delta over a gap longer than energy_max_gap_days is held in no day (domain/counters.py)
until staff decide to spread it over the gap's days as the rules would, or to leave it out for good."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from psycopg import AsyncConnection
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.errors import NotFound
from api.fields import Text
from db import consumption
from db.scope import Scope

Decision = Literal["spread", "exclude"]


class GapDecisionSet(BaseModel):
    """Staff's decision on one held gap of a meter, named by its start and end (as /energy/flagged lists it)."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime = Field(description="the gap's first reading (`start` of the flagged gap)")
    end: AwareDatetime = Field(description="its last (`end` of the flagged gap)")
    decision: Decision = Field(
        description="spread: share the delta between the gap's days in proportion to time, as the rules would; "
        "exclude: leave it out of consumption for good"
    )
    note: Text = Field(min_length=1, max_length=1000, description="why: what staff found out about the gap")


class GapDecision(BaseModel):
    """A recorded decision on a gap."""

    meter_id: str
    start: datetime
    end: datetime
    amount: Decimal = Field(description="what the gap held when decided, in the meter's unit (multiplier applied)")
    decision: Decision
    note: str
    decided_by: int = Field(description="the user who decided")
    decided_at: datetime


_FIELDS = tuple(GapDecision.model_fields)


async def decide(conn: AsyncConnection, scope: Scope, meter_id: str, body: GapDecisionSet, user_id: int) -> GapDecision:
    """Record the decision (replacing an earlier one on the same gap) and have the meter recounted with it.

    Raises:
        NotFound: no gap from `start` to `end` is held (or was decided) for a meter of the scope.
    """
    async with conn.transaction():
        amount = await consumption.gap_amount(conn, scope, meter_id, body.start, body.end)
        if amount is None:
            raise NotFound(
                f"meter {meter_id} has no held gap from {body.start.isoformat()} to {body.end.isoformat()} "
                "(see /energy/flagged for the gaps held)"
            )
        row = await consumption.decide_gap(
            conn,
            meter_id,
            start=body.start,
            end=body.end,
            amount=amount,
            decision=body.decision,
            note=body.note,
            user_id=user_id,
        )
    return GapDecision(**dict(zip(_FIELDS, row, strict=True)))


async def decisions(conn: AsyncConnection, scope: Scope, meter_id: str | None) -> list[GapDecision]:
    """The decisions on gaps of the scope's meters (of one meter), latest first."""
    rows = await consumption.gap_decisions(conn, scope, meter_id)
    return [GapDecision(**dict(zip(_FIELDS, row, strict=True))) for row in rows]
