"""SQL of vehicle fuel and charging (`fuel_purchase`): plates resolved to vehicles at a moment, purchases stored once,
the report's reads, and what each home institution's vehicles consumed, for db/declared.py.

db/declared.py calls `yearly` and `monthly` here; both make the row types of db/declared_rows.py, so this module does
not import db/declared.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row

from db.declared_rows import Declared, Monthly, Source
from db.scope import Scope
from domain.fuel import Fuel

# How SQL compares plates: domain/fuel.py's plate_key (spaces, ·, ., -, •, ・ dropped; capitals).
_PLATE_KEY = r"upper(regexp_replace({}, '[[:space:]·.•・-]', '', 'g'))"
# What a purchase is declared as: its fuel is the survey's energy type, in the type's report unit (kg of gasoline and
# diesel at the density kept with the purchase, kWh of electricity).
SOURCE: Source = "fuel_statements"


@dataclass(frozen=True, slots=True)
class Holder:
    """The vehicle that held a plate at a moment."""

    vehicle_id: str
    organisation_id: str
    plate: str
    energy: str


async def holders(
    conn: AsyncConnection, zone: str, keys: Sequence[tuple[str, datetime]]
) -> dict[tuple[str, datetime], list[Holder]]:
    """For each (plate key, moment), every vehicle with that plate in service then (in service on or before its local
    day, not retired before it), in any scope; more than one is a registry that cannot say which."""
    if not keys:
        return {}
    plates, times = zip(*keys, strict=True)
    query = sql.SQL(
        """SELECT k.plate, k.time, v.id, v.organisation_id, v.plate, v.energy
           FROM (SELECT DISTINCT * FROM unnest(%s::text[], %s::timestamptz[])) AS k (plate, time)
           JOIN vehicle v ON {key} = k.plate
                AND (v.in_service_on IS NULL OR v.in_service_on <= (k.time AT TIME ZONE %s)::date)
                AND (v.retired_on IS NULL OR v.retired_on >= (k.time AT TIME ZONE %s)::date)
           ORDER BY v.id"""
    ).format(key=sql.SQL(_PLATE_KEY).format(sql.Identifier("v", "plate")))
    cur = await conn.execute(query, (list(plates), list(times), zone, zone))
    found: dict[tuple[str, datetime], list[Holder]] = {}
    for plate, time, *holder in await cur.fetchall():
        found.setdefault((plate, time), []).append(Holder(*holder))
    return found


class NewPurchase(NamedTuple):
    vehicle_id: str
    plate: str
    card_number: str | None
    time: datetime
    end_time: datetime | None
    day: date
    station: str | None
    fuel: Fuel
    grade: str | None
    quantity: Decimal
    kg_per_litre: Decimal | None
    amount: Decimal | None
    statement: str
    sheet: str
    row_number: int


async def stored_already(
    conn: AsyncConnection, keys: Sequence[tuple[str, datetime, str, Decimal]]
) -> dict[tuple[str, datetime, str, Decimal], tuple[str, int]]:
    """Those of these natural keys (vehicle, time, fuel, quantity) stored before: the statement and row each came
    from."""
    if not keys:
        return {}
    vehicles, times, fuels, quantities = zip(*keys, strict=True)
    cur = await conn.execute(
        """SELECT p.vehicle_id, p.time, p.fuel, p.quantity, p.statement, p.row_number
           FROM fuel_purchase p
           JOIN unnest(%s::text[], %s::timestamptz[], %s::text[], %s::numeric[]) AS k (vehicle_id, time, fuel, quantity)
                USING (vehicle_id, time, fuel, quantity)""",
        (list(vehicles), list(times), list(fuels), list(quantities)),
    )
    return {(r[0], r[1], r[2], r[3]): (r[4], r[5]) for r in await cur.fetchall()}


async def add(conn: AsyncConnection, purchases: Sequence[NewPurchase], user_id: int | None) -> int:
    """Store the purchases, none twice (the natural key): how many were new."""
    added = 0
    async with conn.cursor() as cur:
        for p in purchases:
            await cur.execute(
                """INSERT INTO fuel_purchase (vehicle_id, plate, card_number, time, end_time, day, station, fuel, grade,
                                              quantity, kg_per_litre, amount, statement, sheet, row_number,
                                              imported_by)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (vehicle_id, time, fuel, quantity) DO NOTHING""",
                (*p, user_id),
            )
            added += cur.rowcount
    return added


async def vehicles_with_purchases(
    conn: AsyncConnection, scope: Scope, days: tuple[date, date], organisation_id: str | None
) -> list[dict[str, Any]]:
    """The vehicles in the scope (and of one unit, if given) with a purchase on a local day of [start, end), with
    their registry facts and their organisation's name, in unit and vehicle order."""
    query = sql.SQL(
        """SELECT v.id, v.plate, v.organisation_id, o.name AS organisation_name, v.energy, v.home_institution_id,
                  v.tank_litres, v.battery_kwh
           FROM vehicle v JOIN organisation o ON o.id = v.organisation_id
           WHERE {scope} AND (%(unit)s::text IS NULL OR v.organisation_id = %(unit)s)
                 AND EXISTS (SELECT 1 FROM fuel_purchase p
                             WHERE p.vehicle_id = v.id AND p.day >= %(start)s AND p.day < %(end)s
                                   AND p.withdrawn_at IS NULL)
           ORDER BY v.organisation_id, v.id"""
    ).format(scope=scope.condition("v.organisation_id"))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, {"unit": organisation_id, "start": days[0], "end": days[1]})
        return await cur.fetchall()


async def purchases(conn: AsyncConnection, vehicle_ids: Sequence[str], days: tuple[date, date]) -> list[dict[str, Any]]:
    """The purchases of these vehicles on local days of [start, end), in vehicle and time order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            """SELECT vehicle_id, time, day, fuel, grade, quantity, amount, station, card_number, statement
               FROM fuel_purchase WHERE vehicle_id = ANY(%s) AND day >= %s AND day < %s AND withdrawn_at IS NULL
               ORDER BY vehicle_id, time""",
            (list(vehicle_ids), days[0], days[1]),
        )
        return await cur.fetchall()


async def km_by_day(
    conn: AsyncConnection, vehicle_ids: Sequence[str], days: tuple[date, date]
) -> dict[str, dict[date, Decimal]]:
    """Each vehicle's track kilometres per local day of [start, end) with any (the mileage roll-up's)."""
    cur = await conn.execute(
        """SELECT vehicle_id, day, km FROM mileage_day
           WHERE vehicle_id = ANY(%s) AND day >= %s AND day < %s AND km > 0""",
        (list(vehicle_ids), days[0], days[1]),
    )
    found: dict[str, dict[date, Decimal]] = {}
    for vehicle_id, day, km in await cur.fetchall():
        # To the metre, as the reports give kilometres: the roll-up sums floats.
        found.setdefault(vehicle_id, {})[day] = Decimal(str(round(km, 3)))
    return found


# What each purchase declares, per home institution, energy type and local month.
_DECLARED = """
    SELECT v.home_institution_id, p.fuel, date_trunc('month', p.day)::date AS month,
           sum(p.quantity * coalesce(p.kg_per_litre, 1)) AS quantity, sum(p.amount) AS cost,
           count(*) FILTER (WHERE p.amount IS NULL) AS without_amount
    FROM fuel_purchase p JOIN vehicle v ON v.id = p.vehicle_id
    WHERE v.home_institution_id = ANY(%s) AND p.day >= %s AND p.day < %s AND p.withdrawn_at IS NULL
    GROUP BY 1, 2, 3"""


async def yearly(conn: AsyncConnection, year: int, institution_ids: list[str]) -> list[Declared]:
    """What the vehicles of these home institutions bought in this calendar year (local days), as db/declared.py
    declares consumption: purpose "vehicle", gasoline and diesel in kg (the density kept with each purchase),
    electricity in kWh, cost the statements' amounts in yuan (None when a purchase of the type had none). A vehicle
    with no home institution counts in none (the fuel report lists it)."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT home_institution_id, fuel, sum(quantity), sum(cost), sum(without_amount) FROM ({}) m GROUP BY 1, 2"
        ).format(sql.SQL(_DECLARED)),
        (institution_ids, date(year, 1, 1), date(year + 1, 1, 1)),
    )
    return [
        Declared(institution, fuel, "vehicle", Decimal(quantity), None if missing else Decimal(cost), SOURCE)
        for institution, fuel, quantity, cost, missing in sorted(await cur.fetchall())
    ]


async def monthly(conn: AsyncConnection, institution_ids: list[str], start: date, end: date) -> list[Monthly]:
    """What the vehicles of these home institutions bought per local month, days [start, end), as db/declared.py's
    `monthly` rows of source "fuel_statements"."""
    cur = await conn.execute(sql.SQL(_DECLARED), (institution_ids, start, end))
    return sorted(
        (Monthly(i, fuel, month, Decimal(q), SOURCE) for i, fuel, month, q, _cost, _missing in await cur.fetchall()),
        key=lambda m: (m.institution_id, m.energy_type, m.month),
    )


async def not_counted(conn: AsyncConnection, scope: Scope, days: tuple[date, date]) -> list[str]:
    """The vehicles in the scope with purchases in [start, end) and no home institution: their fuel counts in no
    institution's statistics."""
    query = sql.SQL(
        """SELECT DISTINCT v.id FROM fuel_purchase p JOIN vehicle v ON v.id = p.vehicle_id
           WHERE v.home_institution_id IS NULL AND p.day >= %s AND p.day < %s AND p.withdrawn_at IS NULL
                 AND {scope} ORDER BY v.id"""
    ).format(scope=scope.condition("v.organisation_id"))
    cur = await conn.execute(query, days)
    return [vehicle_id for (vehicle_id,) in await cur.fetchall()]
