"""What every device payload shares: timestamps, device ids, limits, and the single-or-array envelope."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, WithJsonSchema

from collector.invalid import InvalidMessage
from domain.dead_letter import Reason
from domain.ids import ID_PATTERN

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_utc(value: object) -> datetime:
    """Read a device timestamp: RFC 3339 text with an offset, or integer epoch milliseconds.

    Args:
        value: the decoded JSON value.

    Returns:
        A timezone-aware UTC datetime. Naive text is refused: a terminal in GMT+8 and a server
        in UTC would otherwise disagree by eight hours without anyone noticing.
    """
    if isinstance(value, bool):
        raise ValueError("a timestamp is RFC 3339 text or epoch milliseconds, not a boolean")
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("epoch milliseconds are a whole number")
        try:
            return EPOCH + timedelta(milliseconds=value)
        except OverflowError as exc:
            raise ValueError("epoch milliseconds out of range") from exc
    if isinstance(value, str):
        try:
            # RFC 3339 allows lower-case t and z; Python's parser does not.
            parsed = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise ValueError(f"not an RFC 3339 timestamp: {value[:40]!r}") from exc
        if parsed.tzinfo is None:
            raise ValueError("timestamp has no UTC offset (write Z or +08:00)")
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00+08:00 is before year 1 in UTC
            raise ValueError("timestamp out of range") from exc
    raise ValueError("a timestamp is RFC 3339 text or epoch milliseconds")


Timestamp = Annotated[
    datetime,
    PlainValidator(to_utc),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string", "format": "date-time", "description": "RFC 3339 with offset"},
                {"type": "integer", "description": "Unix epoch milliseconds"},
            ]
        }
    ),
]
DeviceId = Annotated[str, Field(pattern=ID_PATTERN)]

PAYLOAD_CONFIG = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds a message must keep, built once from the settings."""

    max_payload_bytes: int = 65536
    max_items: int = 1000
    max_future: timedelta = timedelta(minutes=10)
    oldest: datetime = datetime(2000, 1, 1, tzinfo=UTC)


M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Rejected:
    """One item of an array payload that could not be stored, the rest of the array still is."""

    reason: Reason
    detail: str


def decode_items(payload: bytes, limits: Limits) -> list[Any]:
    """Decode a payload into its items: one JSON object, or a non-empty array of them.

    Raises:
        InvalidMessage: the payload as a whole is unusable.
    """
    if len(payload) > limits.max_payload_bytes:
        raise InvalidMessage(Reason.OVERSIZE, f"{len(payload)} bytes, limit {limits.max_payload_bytes}")
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(Reason.MALFORMED_JSON, str(exc)) from None
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list):
        if not decoded:
            raise InvalidMessage(Reason.BAD_SHAPE, "empty array")
        if len(decoded) > limits.max_items:
            raise InvalidMessage(Reason.OVERSIZE, f"{len(decoded)} items, limit {limits.max_items}")
        return decoded
    raise InvalidMessage(Reason.BAD_SHAPE, f"expected an object or an array, got {type(decoded).__name__}")


def parse_items(
    model: type[M],
    items: Sequence[Any],
    *,
    device_id: str,
    device_field: str,
    received_at: datetime,
    limits: Limits,
    to_row: Callable[[M], R],
    classify: Callable[[ValidationError], Reason] = lambda _: Reason.INVALID_FIELD,
) -> tuple[list[R], list[Rejected]]:
    """Validate each item; good items become rows, bad ones become rejections with a reason.

    A payload naming another device than its topic is refused whole: that is an attempt to speak
    for someone else, not a bad reading.
    """
    rows: list[R] = []
    rejected: list[Rejected] = []
    latest = received_at + limits.max_future
    for index, item in enumerate(items):
        if isinstance(item, dict):
            named = item.get(device_field)
            if named is not None and named != device_id:
                raise InvalidMessage(
                    Reason.DEVICE_MISMATCH, f"topic is {device_id!r}, payload names {str(named)[:64]!r}"
                )
        try:
            parsed = model.model_validate(item)
        except ValidationError as exc:
            rejected.append(Rejected(classify(exc), f"item {index}: {_first_error(exc)}"))
            continue
        time: datetime = parsed.time  # type: ignore[attr-defined]
        if time > latest:
            rejected.append(Rejected(Reason.FUTURE_TIME, f"item {index}: {time.isoformat()} is in the future"))
        elif time < limits.oldest:
            rejected.append(Rejected(Reason.TOO_OLD, f"item {index}: {time.isoformat()} is before {limits.oldest:%Y}"))
        else:
            rows.append(to_row(parsed))
    return rows, rejected


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "payload"
    more = exc.error_count() - 1
    return f"{where}: {error['msg']}" + (f" (and {more} more)" if more else "")
