"""The marks of the roll-ups: devices whose data changed from some time on, and how a refresher claims them.

The collector's writer marks each device whose rows it stores, in the transaction that stores them (`Marks.mark`);
a worker's refresher lists the marks (`listed`), claims each by deleting it in the transaction of its recount
(`claim`), so a batch of that device stored meanwhile waits for the recount and then marks it anew: nothing stored
after a recount read its data goes uncounted, and a failed recount rolls the claim back. Two roll-ups follow marks:
consumption (`CONSUMPTION`, by meter) and mileage (`MILEAGE`, by vehicle; the packed hours of tracks follow it too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg import AsyncConnection, sql

# From before any time the collector accepts: a rebuild's marks recount every device whole. Not '-infinity', which
# Python's datetime cannot hold.
BEFORE_ALL = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Marks:
    table: str  # the marks: (key, since)
    key: str  # the device's column
    devices: str  # the registry table whose ids are the devices
    lock_class: int  # of the transaction-scoped advisory lock a recount holds on its device

    async def mark(self, conn: AsyncConnection, earliest: Mapping[str, datetime]) -> None:
        """Mark devices to be recounted from these times on, in the caller's transaction.

        A device already marked from an earlier time is left as it is: no write for it, which is most devices of
        most batches. Devices in one order for every writer: no deadlock.
        """
        if not earliest:
            return
        devices = sorted(earliest)
        # The arrays go in binary (%b): as text, dumping a thousand timestamps costs more than the statement itself.
        query = sql.SQL(
            """WITH batch (device, since) AS (SELECT * FROM unnest(%b::text[], %b::timestamptz[])),
                    earlier AS (UPDATE {table} s SET since = b.since FROM batch b
                                WHERE s.{key} = b.device AND s.since > b.since)
               INSERT INTO {table} ({key}, since) SELECT device, since FROM batch ON CONFLICT ({key}) DO NOTHING"""
        ).format(table=sql.Identifier(self.table), key=sql.Identifier(self.key))
        await conn.execute(query, (devices, [earliest[d] for d in devices]))

    async def mark_all(self, conn: AsyncConnection) -> None:
        """Mark every registered device from before all its data: a rebuild."""
        await conn.execute(
            sql.SQL(
                """INSERT INTO {table} ({key}, since) SELECT id, %(since)s FROM {devices}
                   ON CONFLICT ({key}) DO UPDATE SET since = %(since)s"""
            ).format(
                table=sql.Identifier(self.table), key=sql.Identifier(self.key), devices=sql.Identifier(self.devices)
            ),
            {"since": BEFORE_ALL},
        )

    async def listed(self, conn: AsyncConnection, limit: int) -> list[str]:
        """Up to `limit` marked devices, those marked from the earliest time first."""
        cur = await conn.execute(
            sql.SQL("SELECT {key} FROM {table} ORDER BY since LIMIT %s").format(
                table=sql.Identifier(self.table), key=sql.Identifier(self.key)
            ),
            (limit,),
        )
        return [device for (device,) in await cur.fetchall()]

    async def pending(self, conn: AsyncConnection) -> int:
        """How many devices are marked."""
        cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self.table)))
        row = await cur.fetchone()
        return int(row[0]) if row is not None else 0

    async def hold(self, conn: AsyncConnection, device: str) -> None:
        """In the caller's transaction: wait for and take the lock a recount of the device holds, so that a change
        to its counted rows (staff's corrections) and a recount never interleave; a refresher meanwhile skips the
        device and finds its mark at the next turn."""
        await conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (self.lock_class, device))

    async def claim(self, conn: AsyncConnection, device: str) -> datetime | None:
        """In the recount's transaction: the time the device is marked from, the mark now going with the
        transaction; None when another refresher is recounting it or has since recounted it."""
        cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", (self.lock_class, device))
        locked = await cur.fetchone()
        if locked is None or not locked[0]:
            return None
        cur = await conn.execute(
            sql.SQL("DELETE FROM {table} WHERE {key} = %s RETURNING since").format(
                table=sql.Identifier(self.table), key=sql.Identifier(self.key)
            ),
            (device,),
        )
        claimed = await cur.fetchone()
        return None if claimed is None else claimed[0]


CONSUMPTION = Marks("consumption_stale", "meter_id", "meter", lock_class=0x7977_0001)
MILEAGE = Marks("mileage_stale", "vehicle_id", "vehicle", lock_class=0x7977_0002)
