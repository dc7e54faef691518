"""JT/T 808 terminals' registrations (0028): which vehicle a phone number is, the authentication code's hash, and
the terminal's own account of itself. Phone numbers are compared without leading zeros, as the header reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

# The non-retired vehicle whose terminal id is this phone number: two vehicles whose ids differ only in leading
# zeros ('012345' and '12345') are both unique to the registry but one phone here, and neither is chosen.
_VEHICLE = """SELECT min(id), count(*), min(plate), min(vin) FROM vehicle
              WHERE lifecycle <> 'retired' AND ltrim(terminal_id, '0') = %s"""

_PLATE_CHARS = 32


@dataclass(frozen=True, slots=True)
class TerminalInfo:
    """What a terminal said in its registration (0x0100)."""

    maker: str
    model: str
    device_serial: str
    plate_color: int
    plate: str
    province: int
    city: int


@dataclass(frozen=True, slots=True)
class Holder:
    """The vehicle a phone number is the terminal id of, as the registry has it."""

    id: str
    plate: str
    vin: str | None


async def vehicle_of(conn: AsyncConnection, phone: str) -> Holder | None:
    """The one non-retired vehicle whose terminal id is `phone` (leading zeros ignored), else None."""
    cur = await conn.execute(_VEHICLE, (phone.lstrip("0") or "0",))
    row = await cur.fetchone()
    if row is None or row[1] != 1:
        return None
    return Holder(row[0], row[2], row[3])


async def register(
    conn: AsyncConnection, phone: str, vehicle_id: str, code_sha256: bytes, *, at: datetime, info: TerminalInfo
) -> bool:
    """Keep a registration, unless the phone holds one already: False then, and the stored code is untouched.

    A phone number is no secret (it is the terminal's SIM's), so a registration must not take the place of one a
    terminal may still be using: only a voided one is replaced. A registration is void when its code is (a logout,
    `yiwang gateway forget`), or when it is another vehicle's than the one this phone is now the terminal id of
    (that vehicle retired, or given another terminal: authentication refuses its code already), or when its code
    was never presented: the 0x8100 that carried it may have been lost with the connection, and a terminal that
    never received its code would otherwise be locked out until an operator steps in. The window this leaves an
    impostor is the seconds between a terminal's first registration and its first authentication. One statement,
    so that two registrations at once cannot both be taken."""
    cur = await conn.execute(
        """INSERT INTO terminal_registration AS r (terminal_id, vehicle_id, code_sha256, registered_at, maker, model,
                                                   device_serial, plate_color, plate, province, city)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (terminal_id) DO UPDATE
              SET vehicle_id = EXCLUDED.vehicle_id, code_sha256 = EXCLUDED.code_sha256,
                  registered_at = EXCLUDED.registered_at, maker = EXCLUDED.maker, model = EXCLUDED.model,
                  device_serial = EXCLUDED.device_serial, plate_color = EXCLUDED.plate_color,
                  plate = EXCLUDED.plate, province = EXCLUDED.province, city = EXCLUDED.city, authenticated_at = NULL
              WHERE r.code_sha256 IS NULL OR r.vehicle_id <> EXCLUDED.vehicle_id OR r.authenticated_at IS NULL
           RETURNING 1""",
        (
            phone,
            vehicle_id,
            code_sha256,
            at,
            _text(info.maker),
            _text(info.model),
            _text(info.device_serial),
            info.plate_color,
            _text(info.plate)[:_PLATE_CHARS],
            info.province,
            info.city,
        ),
    )
    return await cur.fetchone() is not None


async def authenticate(conn: AsyncConnection, phone: str, code_sha256: bytes) -> str | None:
    """The vehicle a terminal speaks for, when `code_sha256` is the hash of its current code and the vehicle it
    registered for is still not retired and still has this terminal id; else None. The first time, the code is
    marked as received: the registration no longer gives way to a new one (`register`)."""
    cur = await conn.execute(
        """WITH found AS (
               SELECT v.id, r.authenticated_at FROM terminal_registration r JOIN vehicle v ON v.id = r.vehicle_id
               WHERE r.terminal_id = %(phone)s AND r.code_sha256 = %(code)s
                 AND v.lifecycle <> 'retired' AND ltrim(v.terminal_id, '0') = r.terminal_id
           ), first AS (
               UPDATE terminal_registration SET authenticated_at = now()
               WHERE terminal_id = %(phone)s AND code_sha256 = %(code)s AND authenticated_at IS NULL
                 AND EXISTS (SELECT FROM found)
           )
           SELECT id FROM found""",
        {"phone": phone, "code": code_sha256},
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def log_out(conn: AsyncConnection, phone: str) -> None:
    """Void a terminal's code: it registers again before it can authenticate."""
    await conn.execute("UPDATE terminal_registration SET code_sha256 = NULL WHERE terminal_id = %s", (phone,))


async def forget(conn: AsyncConnection, phones: list[str]) -> list[str]:
    """Void the codes of these phones (leading zeros ignored), for terminals that lost theirs (replaced, reset):
    each may register again. The phones whose code was voided, in the order given; one without a code is not."""
    voided = []
    for phone in phones:
        cur = await conn.execute(
            """UPDATE terminal_registration SET code_sha256 = NULL
               WHERE terminal_id = %s AND code_sha256 IS NOT NULL RETURNING terminal_id""",
            (phone.lstrip("0") or "0",),
        )
        if await cur.fetchone() is not None:
            voided.append(phone)
    return voided


def _text(value: str) -> str:
    # PostgreSQL text holds no NUL; a terminal's padding may leave some inside a field.
    return value.replace("\x00", "")
