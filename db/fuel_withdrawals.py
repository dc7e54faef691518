"""SQL of fuel purchases withdrawn: by staff (imported by mistake, resolved to the wrong vehicle) or by a statement's
reversal (冲正). A withdrawn purchase stays, marked with who, when and why, and counts nowhere (db/fuel.py's reads
leave it out); none is ever deleted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from db.scope import Scope

# What a purchase is answered with (api/fleet/fuel_withdrawals.py's FuelPurchase has these fields).
_COLUMNS = sql.SQL(
    """p.id, p.vehicle_id, v.organisation_id, p.plate, p.card_number, p.time, p.day, p.fuel, p.quantity, p.amount,
       p.statement, p.row_number, p.withdrawn_at, p.withdrawn_by, p.withdrawn_reason, p.reversed_at"""
)


async def one(conn: AsyncConnection, scope: Scope, purchase_id: int) -> dict[str, Any] | None:
    """The purchase, if its vehicle's unit is in the scope."""
    query = sql.SQL(
        "SELECT {columns} FROM fuel_purchase p JOIN vehicle v ON v.id = p.vehicle_id WHERE p.id = %s AND {scope}"
    ).format(columns=_COLUMNS, scope=scope.condition("v.organisation_id"))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, (purchase_id,))
        return await cur.fetchone()


async def listed(
    conn: AsyncConnection, scope: Scope, *, vehicle_id: str | None, days: tuple[date, date]
) -> list[dict[str, Any]]:
    """The purchases of the scope's vehicles (of one, if given) on local days [start, end), withdrawn ones too, in
    vehicle and time order; at most 10,000."""
    query = sql.SQL(
        """SELECT {columns} FROM fuel_purchase p JOIN vehicle v ON v.id = p.vehicle_id
           WHERE {scope} AND (%(vehicle)s::text IS NULL OR p.vehicle_id = %(vehicle)s)
                 AND p.day >= %(start)s AND p.day < %(end)s
           ORDER BY p.vehicle_id, p.time, p.id LIMIT 10000"""
    ).format(columns=_COLUMNS, scope=scope.condition("v.organisation_id"))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, {"vehicle": vehicle_id, "start": days[0], "end": days[1]})
        return await cur.fetchall()


async def withdraw(
    conn: AsyncConnection, purchase_id: int, reason: str, user_id: int | None, reversed_at: datetime | None = None
) -> bool:
    """Mark the purchase withdrawn; False when it was withdrawn already."""
    cur = await conn.execute(
        """UPDATE fuel_purchase SET withdrawn_at = now(), withdrawn_by = %s, withdrawn_reason = %s, reversed_at = %s
           WHERE id = %s AND withdrawn_at IS NULL""",
        (user_id, reason, reversed_at, purchase_id),
    )
    return cur.rowcount == 1


async def stored(conn: AsyncConnection, vehicle_id: str, time: datetime, fuel: str, quantity: Decimal) -> int | None:
    """The purchase stored with this natural key and not withdrawn."""
    cur = await conn.execute(
        """SELECT id FROM fuel_purchase
           WHERE vehicle_id = %s AND time = %s AND fuel = %s AND quantity = %s AND withdrawn_at IS NULL""",
        (vehicle_id, time, fuel, quantity),
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def reversal_applied(
    conn: AsyncConnection, vehicle_id: str, fuel: str, quantity: Decimal, reversed_at: datetime
) -> int | None:
    """The purchase a reversal of this vehicle, fuel and quantity at this time withdrew before, if one did."""
    cur = await conn.execute(
        """SELECT id FROM fuel_purchase
           WHERE vehicle_id = %s AND fuel = %s AND quantity = %s AND reversed_at = %s""",
        (vehicle_id, fuel, quantity, reversed_at),
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])


async def original(
    conn: AsyncConnection,
    *,
    vehicle_id: str,
    fuel: str,
    quantity: Decimal,
    amount: Decimal | None,
    card: str | None,
    before: datetime,
) -> int | None:
    """The latest purchase not withdrawn that a reversal at `before` reverses: the same vehicle, fuel and quantity,
    the same amount and card where both give one, at or before the reversal."""
    cur = await conn.execute(
        """SELECT id FROM fuel_purchase
           WHERE vehicle_id = %(vehicle)s AND fuel = %(fuel)s AND quantity = %(quantity)s AND time <= %(before)s
                 AND withdrawn_at IS NULL
                 AND (%(amount)s::numeric IS NULL OR amount IS NULL OR amount = %(amount)s)
                 AND (%(card)s::text IS NULL OR card_number IS NULL OR card_number = %(card)s)
           ORDER BY time DESC, id DESC LIMIT 1""",
        {"vehicle": vehicle_id, "fuel": fuel, "quantity": quantity, "amount": amount, "card": card, "before": before},
    )
    row = await cur.fetchone()
    return None if row is None else int(row[0])
