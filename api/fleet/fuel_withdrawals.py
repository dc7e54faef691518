"""A fuel purchase withdrawn by staff: imported by mistake (another account's statement, a test file) or resolved to
the wrong vehicle. It stays, marked with who, when and why, and counts nowhere: not in the fuel report, not in the
home institution's energy statistics or costs. A purchase resolved to the wrong vehicle is withdrawn, the registry
mended, and the statement imported again: the row is stored for the vehicle that held the plate."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api.errors import Conflict, NotFound
from api.fields import Reason
from db import fuel_withdrawals as withdrawals_db
from db.scope import Scope


class FuelPurchaseWithdrawal(BaseModel):
    """Why a purchase is withdrawn."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="why: imported by mistake, the wrong vehicle, a reversal the import missed...")


class FuelPurchase(BaseModel):
    """A purchase as stored, counted or withdrawn."""

    id: int
    vehicle_id: str
    organisation_id: str
    plate: str = Field(description="as the statement has it")
    card_number: str | None
    time: datetime
    day: date
    fuel: str
    quantity: Decimal = Field(description="litres of gasoline or diesel, kWh of electricity")
    amount: Decimal | None = Field(description="yuan")
    statement: str
    row_number: int
    withdrawn_at: datetime | None = Field(description="set: withdrawn, counted nowhere")
    withdrawn_by: int | None
    withdrawn_reason: str | None
    reversed_at: datetime | None = Field(description="the time of the reversal (冲正) row that withdrew it")


async def withdraw(
    conn: AsyncConnection, scope: Scope, purchase_id: int, body: FuelPurchaseWithdrawal, user_id: int
) -> FuelPurchase:
    """Withdraw a purchase of the scope's vehicles, keeping it.

    Raises:
        NotFound: no such purchase of a vehicle in the scope.
        Conflict: it is withdrawn already.
    """
    async with conn.transaction():
        if await withdrawals_db.one(conn, scope, purchase_id) is None:
            raise NotFound(f"no fuel purchase {purchase_id}")
        if not await withdrawals_db.withdraw(conn, purchase_id, body.reason, user_id):
            raise Conflict(f"fuel purchase {purchase_id} is withdrawn already")
    row = await withdrawals_db.one(conn, scope, purchase_id)
    assert row is not None  # withdrawn rows stay
    return FuelPurchase.model_validate(row)


async def listed(
    conn: AsyncConnection, scope: Scope, *, vehicle_id: str | None, days: tuple[date, date]
) -> list[FuelPurchase]:
    """The purchases of the scope's vehicles (of one, if given) on local days [start, end), withdrawn ones marked."""
    rows = await withdrawals_db.listed(conn, scope, vehicle_id=vehicle_id, days=days)
    return [FuelPurchase.model_validate(row) for row in rows]
