"""The one error of the device contract: a message (or one item of it) that cannot be stored."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a message was refused; the value is what the dead-letter table and metrics record."""

    OVERSIZE = "oversize"
    MALFORMED_JSON = "malformed_json"
    BAD_SHAPE = "bad_shape"
    INVALID_FIELD = "invalid_field"
    IMPOSSIBLE_COORDINATES = "impossible_coordinates"
    FUTURE_TIME = "future_time"
    TOO_OLD = "too_old"
    UNKNOWN_DEVICE = "unknown_device"
    DEVICE_MISMATCH = "device_mismatch"
    UNKNOWN_TOPIC = "unknown_topic"
    DATABASE_REFUSED = "database_refused"


class InvalidMessage(Exception):
    """Raised by a parser; becomes one dead-letter row and never reaches the writer as data."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
