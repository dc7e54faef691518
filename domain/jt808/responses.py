"""The platform's answers a terminal waits for, as framed bytes ready to write to its connection.

0x8001 (general response: reply serial WORD, reply id WORD, result BYTE) answers every message that has no answer
of its own; 0x8100 (registration response: reply serial WORD, result BYTE, then the authentication code when the
result is success) answers 0x0100. Both have the same layout in 2013 and 2019; only the header differs, and it
follows the terminal's.

`read_response` is the terminal's side: what a terminal (the simulator) makes of the platform's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.fields import Reader
from domain.jt808.framing import frame
from domain.jt808.header import Header, build_packet

GENERAL_RESPONSE = 0x8001
REGISTRATION_RESPONSE = 0x8100


class Result(IntEnum):
    """0x8001's result (table 5)."""

    SUCCESS = 0
    FAILURE = 1
    MESSAGE_ERROR = 2
    NOT_SUPPORTED = 3
    ALARM_CONFIRMED = 4  # success, for a report that carried an alarm


class RegistrationResult(IntEnum):
    """0x8100's result (table 9)."""

    SUCCESS = 0
    VEHICLE_ALREADY_REGISTERED = 1
    NO_SUCH_VEHICLE = 2
    TERMINAL_ALREADY_REGISTERED = 3
    NO_SUCH_TERMINAL = 4


def general_response(to: Header, serial: int, result: Result) -> bytes:
    """0x8001 answering the message whose header is `to`.

    Args:
        to: the header of the terminal's message (for a multi-packet message, its last packet's).
        serial: the platform's next serial for this terminal.
        result: what the platform makes of the message.
    """
    body = to.serial.to_bytes(2, "big") + to.message_id.to_bytes(2, "big") + bytes([result])
    return _answer(GENERAL_RESPONSE, to, serial, body)


def registration_response(to: Header, serial: int, result: RegistrationResult, code: bytes = b"") -> bytes:
    """0x8100 answering a registration; `code` is the authentication code, sent only with success."""
    if (result is RegistrationResult.SUCCESS) != bool(code):
        raise ValueError("a code goes with success, and only with success")
    body = to.serial.to_bytes(2, "big") + bytes([result]) + code
    return _answer(REGISTRATION_RESPONSE, to, serial, body)


def _answer(message_id: int, to: Header, serial: int, body: bytes) -> bytes:
    return frame(
        build_packet(
            message_id,
            to.phone_digits,
            serial,
            body,
            to.version,
            protocol_version=1 if to.protocol_version is None else to.protocol_version,
        )
    )


@dataclass(frozen=True, slots=True)
class GeneralResponse:
    """0x8001 as a terminal reads it: which of its messages (serial and id) the platform answers, and how.

    `result` stays an int: a platform may send a value table 5 does not name.
    """

    reply_serial: int
    reply_id: int
    result: int

    @property
    def accepted(self) -> bool:
        """Success, or success for a report that carried an alarm."""
        return self.result in (Result.SUCCESS, Result.ALARM_CONFIRMED)


@dataclass(frozen=True, slots=True)
class RegistrationResponse:
    """0x8100 as a terminal reads it: the serial of its 0x0100, the result, and the code with success."""

    reply_serial: int
    result: int
    code: bytes  # empty unless result is success


PlatformMessage = GeneralResponse | RegistrationResponse


def read_response(header: Header, body: bytes) -> PlatformMessage:
    """The platform's 0x8001 or 0x8100 in a packet's body.

    Raises:
        InvalidFrame: `unsupported_message` for any other id; `truncated` for a body cut short; `invalid_field`
            for a general response with bytes after its result.
    """
    if header.message_id == GENERAL_RESPONSE:
        read = Reader(body, "0x8001")
        response = GeneralResponse(read.word("reply serial"), read.word("reply id"), read.byte("result"))
        if read.remaining:
            raise InvalidFrame(Reason.INVALID_FIELD, f"0x8001: {read.remaining} bytes after the result")
        return response
    if header.message_id == REGISTRATION_RESPONSE:
        read = Reader(body, "0x8100")
        return RegistrationResponse(read.word("reply serial"), read.byte("result"), read.rest())
    raise InvalidFrame(Reason.UNSUPPORTED_MESSAGE, f"message id 0x{header.message_id:04x}: no answer a terminal reads")
