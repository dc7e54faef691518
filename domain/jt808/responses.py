"""The platform's answers a terminal waits for, as framed bytes ready to write to its connection.

0x8001 (general response: reply serial WORD, reply id WORD, result BYTE) answers every message that has no answer
of its own; 0x8100 (registration response: reply serial WORD, result BYTE, then the authentication code when the
result is success) answers 0x0100. Both have the same layout in 2013 and 2019; only the header differs, and it
follows the terminal's.
"""

from __future__ import annotations

from enum import IntEnum

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
