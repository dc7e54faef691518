"""What the home institutions' vehicles paid for fuel and charging over a period: the amounts of their fuel-card and
charging statements (`fuel_purchase`, withdrawn purchases left out), for the cost report (api/energy/costs.py).

The survey's vehicle rows carry the same amounts (db/fuel.py `yearly`): the cost report counts them beside the bills'
costs, so that an institution's gasoline, diesel and electricity cost is what both say it paid. A purchase counts on
its local day; a vehicle with no home institution counts in none.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from psycopg import AsyncConnection

# The label the cost report gives these amounts.
SOURCE = "fuel_statements"


async def costs(
    conn: AsyncConnection, institution_ids: list[str], start: date, end: date
) -> dict[tuple[str, str], Decimal]:
    """(home institution, fuel) -> yuan of its vehicles' purchases on local days [start, end) whose statement gives
    an amount; a fuel with no amount stated is absent, never zero."""
    cur = await conn.execute(
        """SELECT v.home_institution_id, p.fuel, sum(p.amount)
           FROM fuel_purchase p JOIN vehicle v ON v.id = p.vehicle_id
           WHERE v.home_institution_id = ANY(%s) AND p.day >= %s AND p.day < %s
                 AND p.withdrawn_at IS NULL AND p.amount IS NOT NULL
           GROUP BY 1, 2""",
        (institution_ids, start, end),
    )
    return {(institution, fuel): Decimal(amount) for institution, fuel, amount in await cur.fetchall()}
