"""The terminal's messages the platform reads, decoded from a packet's (or a reassembled message's) body.

| id     | message                        | here                 |
|--------|--------------------------------|----------------------|
| 0x0001 | terminal general response      | `TerminalResponse`   |
| 0x0002 | heartbeat                      | `Heartbeat`          |
| 0x0003 | logout                         | `Logout`             |
| 0x0100 | registration                   | `Registration`       |
| 0x0102 | authentication                 | `Authentication`     |
| 0x0200 | location report                | `LocationReport`     |
| 0x0704 | batch and blind-zone upload    | `LocationBatch`      |

Any other id, and any RSA-encrypted body (the platform never sends its key, 0x8A00), is `unsupported_message`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.fields import Reader, gbk
from domain.jt808.header import Header, Version
from domain.jt808.location import Location, decode_location

TERMINAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTRATION = 0x0100
AUTHENTICATION = 0x0102
LOCATION_REPORT = 0x0200
LOCATION_BATCH = 0x0704

# Registration's fixed-width fields: maker id, model, terminal id (table 8; 2019 widened all three).
_REGISTRATION_WIDTHS = {Version.V2013: (5, 20, 7), Version.V2019: (11, 30, 30)}
_IMEI_BYTES = 15
_SOFTWARE_VERSION_BYTES = 20


@dataclass(frozen=True, slots=True)
class TerminalResponse:
    """0x0001: the terminal's answer to a platform message (result 0 success, 1 failure, 2 bad, 3 unsupported)."""

    reply_serial: int
    reply_id: int
    result: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """0x0002: the terminal is there; its body is empty."""


@dataclass(frozen=True, slots=True)
class Logout:
    """0x0003: the terminal unregisters; its authentication code is void afterwards."""


@dataclass(frozen=True, slots=True)
class Registration:
    """0x0100: a terminal asks for an authentication code, naming itself and its vehicle."""

    province: int  # GB/T 2260 administrative division: the first two digits
    city: int  # the last four digits
    maker: str  # manufacturer id
    model: str  # terminal model
    terminal_id: str  # the maker's own id of the terminal
    plate_color: int  # JT/T 697.7; 0 when the vehicle has no plate yet (2019: the VIN follows)
    plate: str  # the plate, or the VIN when plate_color is 0


@dataclass(frozen=True, slots=True)
class Authentication:
    """0x0102: a terminal presents the authentication code that 0x8100 gave it (2019 adds IMEI and software)."""

    code: bytes  # exactly as sent, compared byte for byte with the issued one
    imei: str | None = None  # 2019
    software_version: str | None = None  # 2019


@dataclass(frozen=True, slots=True)
class LocationReport:
    """0x0200: one fix."""

    location: Location


@dataclass(frozen=True, slots=True)
class LocationBatch:
    """0x0704: fixes stored by the terminal, in the order it sent them; `blind` for a blind-zone resend (type 1)."""

    blind: bool
    locations: tuple[Location, ...]


Message = TerminalResponse | Heartbeat | Logout | Registration | Authentication | LocationReport | LocationBatch


def decode(header: Header, body: bytes) -> Message:
    """The message a body carries, read by its header's id and version.

    Args:
        header: the packet's header (for a multi-packet message: the first packet's).
        body: the packet's body, or the reassembled message's.

    Raises:
        InvalidFrame: `unsupported_message`, `truncated` or `invalid_field`.
    """
    if header.encryption:
        raise InvalidFrame(
            Reason.UNSUPPORTED_MESSAGE, f"0x{header.message_id:04x}: encrypted body ({header.encryption})"
        )
    decoder = _DECODERS.get(header.message_id)
    if decoder is None:
        raise InvalidFrame(Reason.UNSUPPORTED_MESSAGE, f"message id 0x{header.message_id:04x}")
    return decoder(body, header.version)


def _terminal_response(body: bytes, _: Version) -> TerminalResponse:
    read = Reader(body, "0x0001")
    return TerminalResponse(read.word("reply serial"), read.word("reply id"), read.byte("result"))


def _heartbeat(_body: bytes, _version: Version) -> Heartbeat:
    return Heartbeat()


def _logout(_body: bytes, _version: Version) -> Logout:
    return Logout()


def _registration(body: bytes, version: Version) -> Registration:
    read = Reader(body, "0x0100")
    maker, model, terminal_id = _REGISTRATION_WIDTHS[version]
    return Registration(
        province=read.word("province"),
        city=read.word("city"),
        maker=read.text(maker, "maker id"),
        model=read.text(model, "terminal model"),
        terminal_id=read.text(terminal_id, "terminal id"),
        plate_color=read.byte("plate colour"),
        plate=gbk(read.rest(), "0x0100: plate"),
    )


def _authentication(body: bytes, version: Version) -> Authentication:
    if version is Version.V2013:
        # The whole body is the code; a terminal that ends it with the STRING terminator still means the same code.
        return Authentication(code=body.rstrip(b"\x00"))
    read = Reader(body, "0x0102")
    code = read.take(read.byte("code length"), "code")
    return Authentication(
        code=code,
        imei=read.text(_IMEI_BYTES, "IMEI"),
        software_version=read.text(_SOFTWARE_VERSION_BYTES, "software version"),
    )


def _location_report(body: bytes, _: Version) -> LocationReport:
    return LocationReport(decode_location(body))


def _location_batch(body: bytes, _: Version) -> LocationBatch:
    read = Reader(body, "0x0704")
    count = read.word("count")
    kind = read.byte("type")
    if kind not in (0, 1):
        raise InvalidFrame(Reason.INVALID_FIELD, f"0x0704: type {kind}, not 0 (normal) or 1 (blind zone)")
    locations = []
    for index in range(count):
        size = read.word(f"item {index} length")
        locations.append(decode_location(read.take(size, f"item {index}"), f"0x0704 item {index}"))
    if read.remaining:
        raise InvalidFrame(Reason.INVALID_FIELD, f"0x0704: {read.remaining} bytes after the {count} items it counts")
    return LocationBatch(blind=kind == 1, locations=tuple(locations))


_DECODERS: dict[int, Callable[[bytes, Version], Message]] = {
    TERMINAL_RESPONSE: _terminal_response,
    HEARTBEAT: _heartbeat,
    LOGOUT: _logout,
    REGISTRATION: _registration,
    AUTHENTICATION: _authentication,
    LOCATION_REPORT: _location_report,
    LOCATION_BATCH: _location_batch,
}
# The message ids the platform reads: a multi-packet message of any other is refused at its first packet.
READABLE = frozenset(_DECODERS)
