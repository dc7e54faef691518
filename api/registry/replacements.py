"""Meter replacements (换表) and the multiplier history: the dated events the consumption roll-up counts with.

A replacement is recorded by staff who keep the registry: the moment of the swap, the old meter's final register and
the new meter's first (domain/counters.py counts the old meter up to its final and the new one from its first). Each
record or deletion has the meter recounted from the swap's moment on (db/registry.py's `recount`, the one path of
every registry change); the days before keep their figures.
"""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.errors import Conflict, NotFound, Refused
from api.fields import Finite, Text
from api.registry import service
from db import registry as registry_db
from db.scope import Scope
from domain.registry import Moment


class ReplacementCreate(BaseModel):
    """A swap of a meter, as read at the swap: the old meter's last register and the new one's first."""

    model_config = ConfigDict(extra="forbid")

    time: Moment = Field(description="the moment of the swap, with its offset, e.g. 2026-03-01T09:30:00+08:00")
    old_final: Finite = Field(ge=0, description="the old meter's final register, in register units (倍率 not applied)")
    new_first: Finite = Field(ge=0, description="the new meter's first register, in register units")
    note: Text = Field(min_length=1, max_length=1000, description="why and by whom: the work order, the fitter")


class Replacement(BaseModel):
    """A recorded swap of a meter."""

    meter_id: str
    time: datetime
    old_final: float
    new_first: float
    note: str
    recorded_by: int = Field(description="the user who recorded it")
    recorded_at: datetime


class MultiplierChange(BaseModel):
    """A value of a meter's multiplier (CT/PT ratio) and the moment it holds from, until the next one."""

    since: datetime = Field(description="the first value of a history holds from 1900-01-01T00:00:00Z: from the start")
    multiplier: float
    recorded_at: datetime


_FIELDS = tuple(Replacement.model_fields)


async def record(
    conn: AsyncConnection, scope: Scope, meter_id: str, body: ReplacementCreate, user_id: int
) -> Replacement:
    """Record a swap of a meter in the scope; the meter is recounted from it.

    Raises:
        NotFound: there is no meter of this id in the scope.
        Conflict: a swap is recorded at that moment already.
        Refused: the swap's moment is still to come (a mistyped year would count the old meter on into it).
    """
    if body.time > datetime.now(UTC):
        raise Refused(f"a swap is recorded once it is made: {body.time.isoformat()} is still to come")
    async with conn.transaction():
        await _meter(conn, scope, meter_id)
        row = await registry_db.add_replacement(
            conn,
            meter_id,
            time=body.time,
            old_final=body.old_final,
            new_first=body.new_first,
            note=body.note,
            user_id=user_id,
        )
        if row is None:
            raise Conflict(
                f"meter {meter_id} has a replacement at {body.time.isoformat()} already: delete it first "
                f"(DELETE /meters/{meter_id}/replacements/{{time}}) to record another"
            )
    return Replacement(**dict(zip(_FIELDS, row, strict=True)))


async def listed(conn: AsyncConnection, scope: Scope, meter_id: str) -> list[Replacement]:
    """The recorded swaps of a meter in the scope, in time order.

    Raises:
        NotFound: there is no meter of this id in the scope.
    """
    await service.meter(conn, scope, meter_id)
    rows = await registry_db.replacements(conn, meter_id)
    return [Replacement(**dict(zip(_FIELDS, row, strict=True))) for row in rows]


async def delete(conn: AsyncConnection, scope: Scope, meter_id: str, time: datetime) -> Replacement:
    """Delete a recorded swap (recorded by mistake, or at a wrong moment); the meter is recounted from it.

    Raises:
        NotFound: no such meter in the scope, or no swap of it recorded at `time`.
    """
    async with conn.transaction():
        await _meter(conn, scope, meter_id)
        row = await registry_db.delete_replacement(conn, meter_id, time)
        if row is None:
            raise NotFound(f"meter {meter_id} has no replacement recorded at {time.isoformat()}")
    return Replacement(**dict(zip(_FIELDS, row, strict=True)))


async def multipliers(conn: AsyncConnection, scope: Scope, meter_id: str) -> list[MultiplierChange]:
    """The multiplier history of a meter in the scope, in time order (empty: its multiplier holds throughout).

    Raises:
        NotFound: there is no meter of this id in the scope.
    """
    await service.meter(conn, scope, meter_id)
    fields = tuple(MultiplierChange.model_fields)
    return [
        MultiplierChange(**dict(zip(fields, row, strict=True))) for row in await registry_db.multipliers(conn, meter_id)
    ]


async def _meter(conn: AsyncConnection, scope: Scope, meter_id: str) -> None:
    """The meter, locked until the transaction ends (a change of it waits)."""
    if meter_id not in (await service.meters_to_change(conn, scope, [meter_id]))[0]:
        raise NotFound(f"no meter {meter_id}")
