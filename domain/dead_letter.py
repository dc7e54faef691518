"""Why a message or an item of one was refused: the reason a dead letter records (and the collector's metrics
count), which the simulators' faults expect and the device protocol documents."""

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
