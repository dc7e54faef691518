"""SQL of the live map: every vehicle's newest fix (live_position) with its registry facts and open trip request,
what collectors changed since a look (by the transaction that changed each row: migration 0015), and the channels
on which the database names what else changed (a trigger names each vehicle whose registry row or open request
changed: migration 0014; the supervisor names the alerts it committed: db/alerts.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from datetime import UTC
from typing import Any, Final, NamedTuple

from psycopg import AsyncConnection, sql

from domain.position import Position
from domain.trip_requests import OPEN_STATES

VEHICLE_CHANNEL: Final = "yiwang_vehicle"


class LiveVehicle(NamedTuple):
    """A vehicle on the map as the database says: its registry facts, its open request, its newest fix."""

    vehicle_id: str
    organisation_id: str
    plate: str
    lifecycle: str  # active or maintenance (retired vehicles are not on the map)
    request_id: int | None  # its open (dispatched or under way) trip request
    request_state: str | None
    driver_id: int | None
    fix: Position


_MAP_QUERY = """
    SELECT v.id, v.organisation_id, v.plate, v.lifecycle, r.id, r.state, r.driver_id,
           p.time, p.received_at, p.latitude, p.longitude, p.speed, p.heading, p.ignition, p.soc, p.fuel
    FROM vehicle v
    JOIN live_position p ON p.vehicle_id = v.id
    -- At most one open request per vehicle (a unique index of trip_request): the join adds no rows.
    LEFT JOIN trip_request r ON r.vehicle_id = v.id AND r.state = ANY(%(open)s)
    WHERE v.lifecycle <> 'retired' {only}"""


def _fix(vehicle_id: str, row: Sequence[Any]) -> Position:
    """A position from what the map reads of one (time, received_at, latitude, longitude, speed, heading,
    ignition, soc, fuel): the rest it does not show."""
    time, received_at, latitude, longitude, speed, heading, ignition, soc, fuel = row
    # Positional, every field: keywords and defaults make a NamedTuple slower, and a whole map is 20,000 of them.
    return Position(vehicle_id, time.astimezone(UTC), received_at, latitude, longitude, speed, heading, ignition,
                    None, False, None, None, None, soc, fuel, None, None)  # fmt: skip


def _vehicle(row: Sequence[Any]) -> LiveVehicle:
    return LiveVehicle(row[0], row[1], row[2], row[3], row[4], row[5], row[6], _fix(row[0], row[7:]))


async def vehicles(conn: AsyncConnection, only: Collection[str] | None = None) -> list[LiveVehicle]:
    """The map as the database holds it: every vehicle, or `only` these (those retired or without a fix are not
    among them)."""
    params: dict[str, object] = {"open": sorted(OPEN_STATES)}
    condition = sql.SQL("")
    if only is not None:
        condition = sql.SQL("AND v.id = ANY(%(only)s)")
        params["only"] = list(only)
    cur = await conn.execute(sql.SQL(_MAP_QUERY).format(only=condition), params)
    return [_vehicle(row) for row in await cur.fetchall()]


async def whole_map(conn: AsyncConnection, part: int) -> AsyncIterator[Iterator[LiveVehicle]]:
    """Every vehicle of the map, in parts of `part` made from the result as they are taken: each part is freed
    before the next is made (a whole city's rows held at once make the garbage collector walk them all)."""
    cur = await conn.execute(sql.SQL(_MAP_QUERY).format(only=sql.SQL("")), {"open": sorted(OPEN_STATES)})
    while rows := await cur.fetchmany(part):
        yield map(_vehicle, rows)
        del rows


async def first_mark(conn: AsyncConnection) -> int:
    """The mark of a first look, taken before the map is first loaded: nothing committed after the load escapes."""
    cur = await conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def changed(conn: AsyncConnection, mark: int) -> tuple[int, list[Position]]:
    """The live_position rows changed by transactions from `mark` on, and the next look's mark.

    The mark is the oldest transaction still running when the rows were read (the xmin of the statement's
    snapshot): whatever that snapshot could not see was changed by it or by a later one, so the next look finds
    it, however late it commits. Rows of transactions committed at or above the mark are read twice; taking a fix
    twice changes nothing.
    """
    cur = await conn.execute(
        """WITH look AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS mark)
           SELECT look.mark, p.vehicle_id, p.time, p.received_at, p.latitude, p.longitude, p.speed, p.heading,
                  p.ignition, p.soc, p.fuel
           FROM look LEFT JOIN live_position p ON p.changed_xact >= %s::text::xid8""",
        (str(mark),),
    )
    rows = await cur.fetchall()
    return int(rows[0][0]), [_fix(row[1], row[2:]) for row in rows if row[1] is not None]


async def listen(conn: AsyncConnection, *channels: str) -> None:
    """LISTEN to these channels on an autocommit connection (its `notifies()` then yields what they announce)."""
    for channel in channels:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
