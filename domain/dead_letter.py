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
    # A reading dated before its meter's installation date (the registry's installed_on, from local midnight).
    BEFORE_INSTALLATION = "before_installation"
    UNKNOWN_DEVICE = "unknown_device"
    DEVICE_MISMATCH = "device_mismatch"
    UNKNOWN_TOPIC = "unknown_topic"
    DATABASE_REFUSED = "database_refused"
    # The sender exceeded its allowance of messages or bytes per minute (domain/device_rate.py): the message was
    # not read. Recorded as one row per device and minute that counts them, not a row each.
    RATE_LIMITED = "rate_limited"
    # A JT/T 808 frame or message the gateway could not read (domain/jt808): the reason its dead letter records.
    BAD_CHECKSUM = "bad_checksum"
    BAD_ESCAPE = "bad_escape"
    TRUNCATED = "truncated"
    UNFRAMED = "unframed"
    UNSUPPORTED_MESSAGE = "unsupported_message"
    INCOMPLETE_MESSAGE = "incomplete_message"
    # A JT/T 808 message the gateway will not take from this connection: sent before the terminal authenticated
    # (or from another phone than the one that did), or an authentication whose code is not the terminal's current
    # one (never issued, voided by a logout, or its vehicle retired or given another terminal since).
    UNAUTHENTICATED = "unauthenticated"
    # A JT/T 808 registration (0x0100) for a phone that holds a registration not voided (by a logout, the vehicle's
    # retirement or new terminal, or `yiwang gateway forget`): refused, the terminal's code untouched.
    ALREADY_REGISTERED = "already_registered"
    # A JT/T 808 registration whose plate (or VIN, plate colour 0) is not the registry's for the phone's vehicle.
    PLATE_MISMATCH = "plate_mismatch"
