"""The terminal's side of the protocol: the frames a JT/T 808 terminal sends, for the terminal simulator, the
gateway's benchmark and the end-to-end tests. The platform's own reading of them is `messages`; the frame-level
tests check that reading against published bytes, not against these encoders.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.jt808.fields import to_bcd
from domain.jt808.framing import frame
from domain.jt808.header import _SUBPACKAGE_BIT, _VERSION_BIT, MAX_BODY_BYTES, Version
from domain.jt808.location import BEIJING, FUEL, MILEAGE, RECORDER_SPEED, SATELLITES, SIGNAL, Location, Status
from domain.jt808.messages import (
    _IMEI_BYTES,
    _REGISTRATION_WIDTHS,
    _SOFTWARE_VERSION_BYTES,
    AUTHENTICATION,
    HEARTBEAT,
    LOCATION_BATCH,
    LOCATION_REPORT,
    LOGOUT,
    REGISTRATION,
)

__all__ = [
    "AUTHENTICATION",
    "HEARTBEAT",
    "LOCATION_BATCH",
    "LOCATION_REPORT",
    "LOGOUT",
    "REGISTRATION",
    "authentication_body",
    "batch_body",
    "frames",
    "location_body",
    "registration_body",
]


def location_body(location: Location) -> bytes:
    """The 0x0200 body (or one 0x0704 item) of a fix: the inverse of `location.decode_location`.

    The hemisphere goes into the status bits from the signs; the known additional items are sent when set, the
    `extra` ones as given.
    """
    status = location.status & ~(Status.SOUTH | Status.WEST)
    if location.latitude < 0:
        status |= Status.SOUTH
    if location.longitude < 0:
        status |= Status.WEST
    local = location.time.astimezone(BEIJING)
    body = b"".join(
        (
            int(location.alarm).to_bytes(4, "big"),
            int(status).to_bytes(4, "big"),
            round(abs(location.latitude) * 1e6).to_bytes(4, "big"),
            round(abs(location.longitude) * 1e6).to_bytes(4, "big"),
            location.altitude.to_bytes(2, "big"),
            round(location.speed * 10).to_bytes(2, "big"),
            location.direction.to_bytes(2, "big"),
            bytes.fromhex(local.strftime("%y%m%d%H%M%S")),
        )
    )
    items: list[tuple[int, bytes]] = []
    if location.mileage is not None:
        items.append((MILEAGE, round(location.mileage * 10).to_bytes(4, "big")))
    if location.fuel is not None:
        items.append((FUEL, round(location.fuel * 10).to_bytes(2, "big")))
    if location.recorder_speed is not None:
        items.append((RECORDER_SPEED, round(location.recorder_speed * 10).to_bytes(2, "big")))
    if location.signal is not None:
        items.append((SIGNAL, location.signal.to_bytes(1, "big")))
    if location.satellites is not None:
        items.append((SATELLITES, location.satellites.to_bytes(1, "big")))
    items += location.extra
    return body + b"".join(bytes([item, len(value)]) + value for item, value in items)


def batch_body(locations: Sequence[Location], *, blind: bool) -> bytes:
    """The 0x0704 body: count, type (1 blind zone, 0 normal batch), then each item with its length."""
    items = [location_body(location) for location in locations]
    return (
        len(items).to_bytes(2, "big")
        + bytes([1 if blind else 0])
        + b"".join(len(item).to_bytes(2, "big") + item for item in items)
    )


def registration_body(
    version: Version,
    *,
    province: int,
    city: int,
    maker: str,
    model: str,
    terminal_id: str,
    plate_color: int,
    plate: str,
) -> bytes:
    """The 0x0100 body: the fixed-width fields padded with 0x00 to the version's widths, the plate in GBK."""
    widths = _REGISTRATION_WIDTHS[version]
    fields = [_padded(text, width) for text, width in zip((maker, model, terminal_id), widths, strict=True)]
    return (
        province.to_bytes(2, "big")
        + city.to_bytes(2, "big")
        + b"".join(fields)
        + bytes([plate_color])
        + plate.encode("gbk")
    )


def authentication_body(version: Version, code: bytes, *, imei: str = "", software_version: str = "") -> bytes:
    """The 0x0102 body: the code alone in 2013; in 2019 its length, the code, the IMEI and the software version."""
    if version is Version.V2013:
        return code
    return bytes([len(code)]) + code + _padded(imei, _IMEI_BYTES) + _padded(software_version, _SOFTWARE_VERSION_BYTES)


def frames(
    message_id: int,
    phone: str,
    serial: int,
    body: bytes,
    version: Version,
    *,
    protocol_version: int = 1,
    packet_bytes: int = MAX_BODY_BYTES,
) -> list[bytes]:
    """The framed packets of one terminal message: one, or a multi-packet message when the body is longer than
    `packet_bytes` (each packet then takes the next serial, as terminals number them).

    Args:
        phone: the terminal's number; padded with zeros to 12 (2013) or 20 (2019) digits.
        serial: the first packet's serial; the n-th packet's is serial + n - 1 (mod 65536).
    """
    if not 1 <= packet_bytes <= MAX_BODY_BYTES:
        raise ValueError(f"a packet's body holds 1 to {MAX_BODY_BYTES} bytes, not {packet_bytes}")
    parts = [body[i : i + packet_bytes] for i in range(0, len(body), packet_bytes)] or [b""]
    split = len(parts) > 1
    out = []
    for index, part in enumerate(parts, start=1):
        properties = len(part) | (_VERSION_BIT if version is Version.V2019 else 0) | (_SUBPACKAGE_BIT if split else 0)
        head = message_id.to_bytes(2, "big") + properties.to_bytes(2, "big")
        if version is Version.V2019:
            head += protocol_version.to_bytes(1, "big")
        head += to_bcd(phone, version.phone_bytes) + ((serial + index - 1) % 65536).to_bytes(2, "big")
        if split:
            head += len(parts).to_bytes(2, "big") + index.to_bytes(2, "big")
        out.append(frame(head + part))
    return out


def _padded(text: str, width: int) -> bytes:
    data = text.encode("gbk")
    if len(data) > width:
        raise ValueError(f"{text!r} is longer than its {width}-byte field")
    return data.ljust(width, b"\x00")
