"""The message header (JT/T 808 section 4.4.3): message id, body properties, phone number, serial, subpackage.

    2013: id WORD | properties WORD |                        phone BCD[6]  | serial WORD | [total WORD, index WORD]
    2019: id WORD | properties WORD | protocol version BYTE | phone BCD[10] | serial WORD | [total WORD, index WORD]

Body properties: bits 0-9 the body length, 10-12 the encryption (bit 10: RSA), 13 the subpackage flag, 14 the
version flag (set by 2019 terminals, which then send the protocol version byte and the longer phone), 15 reserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.fields import Reader, to_bcd

MAX_BODY_BYTES = 0x3FF
_LENGTH_MASK = 0x03FF
_ENCRYPTION_SHIFT = 10
_SUBPACKAGE_BIT = 1 << 13
_VERSION_BIT = 1 << 14


class Version(StrEnum):
    """Which edition of the standard a header follows, told by the version flag (bit 14 of the properties)."""

    V2013 = "2013"
    V2019 = "2019"

    @property
    def phone_bytes(self) -> int:
        return 6 if self is Version.V2013 else 10


@dataclass(frozen=True, slots=True)
class Subpackage:
    """Where a packet sits in a multi-packet message: `index` of `total`, counted from 1."""

    total: int
    index: int


@dataclass(frozen=True, slots=True)
class Header:
    """A message header as the terminal sent it.

    `phone` is the terminal's phone number (the registry's terminal id) without the zeros that pad it to 12 or 20
    digits, so a terminal keeps its number when it moves from 2013 to 2019; `phone_digits` is the field as sent.
    """

    message_id: int
    version: Version
    protocol_version: int | None  # the 2019 header's byte (1 for the first 2019 edition); None in 2013
    phone_digits: str
    serial: int
    body_length: int
    encryption: int  # bits 10-12: 0 plain, 1 RSA
    subpackage: Subpackage | None

    @property
    def phone(self) -> str:
        return self.phone_digits.lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class Packet:
    """One frame's header and body (a subpackage's body is its share of the whole message)."""

    header: Header
    body: bytes


def parse_packet(packet: bytes) -> Packet:
    """Splits an unframed packet (see `framing.Frame.packet`) into its header and body.

    Raises:
        InvalidFrame: `truncated` when the header, or the body its length announces, is cut short; `invalid_field`
            for a phone that is not BCD, a subpackage index outside 1..total, or bytes beyond the announced body.
    """
    read = Reader(packet, "header")
    message_id = read.word("message id")
    properties = read.word("body properties")
    version = Version.V2019 if properties & _VERSION_BIT else Version.V2013
    protocol_version = read.byte("protocol version") if version is Version.V2019 else None
    phone_digits = read.bcd(version.phone_bytes, "phone")
    serial = read.word("serial")
    subpackage = None
    if properties & _SUBPACKAGE_BIT:
        subpackage = Subpackage(read.word("subpackage total"), read.word("subpackage index"))
        if not 1 <= subpackage.index <= subpackage.total:
            raise InvalidFrame(Reason.INVALID_FIELD, f"header: subpackage {subpackage.index} of {subpackage.total}")
    body_length = properties & _LENGTH_MASK
    body = read.rest()
    if len(body) < body_length:
        raise InvalidFrame(
            Reason.TRUNCATED, f"0x{message_id:04x}: body length {body_length}, {len(body)} bytes follow the header"
        )
    if len(body) > body_length:
        raise InvalidFrame(
            Reason.INVALID_FIELD,
            f"0x{message_id:04x}: body length {body_length}, {len(body)} bytes follow the header",
        )
    header = Header(
        message_id=message_id,
        version=version,
        protocol_version=protocol_version,
        phone_digits=phone_digits,
        serial=serial,
        body_length=body_length,
        encryption=(properties >> _ENCRYPTION_SHIFT) & 0b111,
        subpackage=subpackage,
    )
    return Packet(header, body)


def build_packet(
    message_id: int,
    phone: str,
    serial: int,
    body: bytes,
    version: Version,
    *,
    protocol_version: int = 1,
) -> bytes:
    """A platform message's header and body, not yet framed (see `framing.frame`); never split into subpackages.

    Args:
        message_id: e.g. 0x8001.
        phone: the terminal's number, padded with zeros to the version's width.
        serial: the platform's own serial for this terminal, 0..65535.
        body: at most 1023 bytes.
        version: the terminal's, so that it reads the answer's header.
        protocol_version: the 2019 header's byte; echo the terminal's.
    """
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"a body of {len(body)} bytes needs subpackages, which the platform does not send")
    properties = len(body) | (_VERSION_BIT if version is Version.V2019 else 0)
    head = message_id.to_bytes(2, "big") + properties.to_bytes(2, "big")
    if version is Version.V2019:
        head += protocol_version.to_bytes(1, "big")
    return head + to_bcd(phone, version.phone_bytes) + serial.to_bytes(2, "big") + body
