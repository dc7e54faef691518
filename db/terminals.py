"""JT/T 808 terminals' registrations (0028): which vehicle a phone number is, the authentication code's hash, and
the terminal's own account of itself. Phone numbers are compared without leading zeros, as the header reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection

# The non-retired vehicle whose terminal id is this phone number: two vehicles whose ids differ only in leading
# zeros ('012345' and '12345') are both unique to the registry but one phone here, and neither is chosen.
_VEHICLE = """SELECT min(id), count(*) FROM vehicle
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


async def vehicle_of(conn: AsyncConnection, phone: str) -> str | None:
    """The id of the one non-retired vehicle whose terminal id is `phone` (leading zeros ignored), else None."""
    cur = await conn.execute(_VEHICLE, (phone.lstrip("0") or "0",))
    row = await cur.fetchone()
    if row is None or row[1] != 1:
        return None
    vehicle: str = row[0]
    return vehicle


async def register(
    conn: AsyncConnection, phone: str, vehicle_id: str, code_sha256: bytes, *, at: datetime, info: TerminalInfo
) -> None:
    """Keep a registration: the terminal's new code replaces any earlier one."""
    await conn.execute(
        """INSERT INTO terminal_registration AS r (terminal_id, vehicle_id, code_sha256, registered_at, maker, model,
                                                   device_serial, plate_color, plate, province, city)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (terminal_id) DO UPDATE
              SET vehicle_id = EXCLUDED.vehicle_id, code_sha256 = EXCLUDED.code_sha256,
                  registered_at = EXCLUDED.registered_at, maker = EXCLUDED.maker, model = EXCLUDED.model,
                  device_serial = EXCLUDED.device_serial, plate_color = EXCLUDED.plate_color,
                  plate = EXCLUDED.plate, province = EXCLUDED.province, city = EXCLUDED.city""",
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


async def authenticate(conn: AsyncConnection, phone: str, code_sha256: bytes) -> str | None:
    """The vehicle a terminal speaks for, when `code_sha256` is the hash of its current code and the vehicle it
    registered for is still not retired and still has this terminal id; else None."""
    cur = await conn.execute(
        """SELECT v.id FROM terminal_registration r JOIN vehicle v ON v.id = r.vehicle_id
           WHERE r.terminal_id = %s AND r.code_sha256 = %s
             AND v.lifecycle <> 'retired' AND ltrim(v.terminal_id, '0') = r.terminal_id""",
        (phone, code_sha256),
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def log_out(conn: AsyncConnection, phone: str) -> None:
    """Void a terminal's code: it registers again before it can authenticate."""
    await conn.execute("UPDATE terminal_registration SET code_sha256 = NULL WHERE terminal_id = %s", (phone,))


def _text(value: str) -> str:
    # PostgreSQL text holds no NUL; a terminal's padding may leave some inside a field.
    return value.replace("\x00", "")
