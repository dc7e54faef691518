"""EMQX's JT/T 808 gateway: the JSON it publishes on `jt808/<clientid>/<phone>/up`, read as positions.

A deployment that runs EMQX (5.4 and later) for its terminals lets EMQX speak JT/T 808; EMQX publishes each
message a terminal sends as `{"header": {...}, "body": {...}}` on its up topic, by default
`jt808/${clientid}/${phone}/up` (https://docs.emqx.com/en/emqx/latest/gateway/jt808.html). Its data exchange guide
(https://docs.emqx.com/en/emqx/latest/gateway/jt808_data_exchange.html) gives every field as the wire's number,
unscaled: BYTE, WORD and DWORD are decimal integers, BCD text: latitude and longitude are the unsigned millionths of
a degree with the hemisphere in the status bits, speed in tenths of km/h, `extra.mileage` in tenths of km,
`extra.fuel_meter` in tenths of L, `time` the 12 digits YYMMDDhhmmss in GMT+8 (EMQX's emqx_jt808_frame.erl copies
the fields into the map as read). They become the contract's units in one place, domain.jt808.location.location_of,
which also reads the frames of Yiwang's own gateway.

The location report (`msg_id` 512, 0x0200) gives one position, the batch upload (1796, 0x0704) one per item, marked
blind for a blind-zone resend (type 1). Every other message EMQX forwards (heartbeats, registration,
authentication, answers) holds no position: it raises `Ignored`, which the collector counts, not a dead letter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.contract import Limits, Rejected, _first_error
from collector.invalid import InvalidMessage
from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.location import Location, location_of
from domain.jt808.messages import LOCATION_BATCH, LOCATION_REPORT
from domain.position import Position
from domain.topics import EMQX_JT808_UP

# The `family` label of the collector's received-message counter for these messages.
NAME: Final = "emqx_jt808"
_FIRST, _, _, _LAST = EMQX_JT808_UP.split("/")
_BLIND_ZONE = 1  # 0x0704 type: 0 a regular batch, 1 a blind-zone resend
_UINT32 = 2**32 - 1
_UINT16 = 2**16 - 1
# The bounds of the device contract (collector/position.py) that a wire number can exceed after scaling.
_MAX_SPEED = 400.0
_MAX_ALTITUDE = 9000
_CONFIG = ConfigDict(strict=True, extra="ignore", frozen=True)


class Ignored(Exception):
    """A message EMQX forwards that holds no position (heartbeat, registration, authentication, answers)."""

    def __init__(self, msg_id: int) -> None:
        super().__init__(f"message 0x{msg_id:04x} holds no position")
        self.message = f"0x{msg_id:04x}"


class _Header(BaseModel):
    # `extra="ignore"`: EMQX adds `proto_ver` for 2019 terminals, `len`, `frag_total` and `frag_sn`.
    model_config = _CONFIG

    msg_id: int = Field(ge=0, le=_UINT16)
    # The guide's example writes it as a number (13900000000), EMQX's parser gives the BCD digits as text.
    phone: str | int | None = None
    encrypt: int = Field(default=0, ge=0)


class _Extra(BaseModel):
    model_config = _CONFIG

    mileage: int | None = Field(default=None, ge=0, le=_UINT32)  # item 0x01, tenths of km
    # Item 0x02, tenths of L: `fuel_meter` in the guide's table and EMQX's parser (its example says `fuel_unit`).
    fuel_meter: int | None = Field(default=None, ge=0, le=_UINT16)
    speed: int | None = Field(default=None, ge=0, le=_UINT16)  # item 0x03, the driving recorder's
    rssi: int | None = Field(default=None, ge=0, le=255)  # item 0x30
    gnss_sat_num: int | None = Field(default=None, ge=0, le=255)  # item 0x31


class _Location(BaseModel):
    """The body of 0x0200, and each item of a 0x0704's `location`."""

    model_config = _CONFIG

    alarm: int = Field(ge=0, le=_UINT32)
    status: int = Field(ge=0, le=_UINT32)
    latitude: int = Field(ge=0, le=_UINT32)
    longitude: int = Field(ge=0, le=_UINT32)
    altitude: int = Field(ge=0, le=_UINT16)
    speed: int = Field(ge=0, le=_UINT16)
    direction: int = Field(ge=0, le=_UINT16)
    time: str = Field(pattern=r"^[0-9]{12}$")
    extra: _Extra | None = None


class _Batch(BaseModel):
    model_config = _CONFIG

    type: int = Field(ge=0, le=255)
    location: list[Any]


def phone_of(topic: str) -> str | None:
    """The terminal's phone number in one of EMQX's up topics (EMQX_JT808_UP), or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == _FIRST and parts[3] == _LAST and parts[2].isascii() and parts[2].isdigit():
        return parts[2]
    return None


def terminal_key(phone: str) -> str:
    """A phone number (or a registry terminal id) without the zeros that pad it to 12 or 20 digits, as
    domain.jt808.header.Header.phone: a terminal keeps its number from 2013 to 2019."""
    return phone.lstrip("0") or "0"


def parse(
    vehicle_id: str, phone: str, payload: bytes, received_at: datetime, limits: Limits
) -> tuple[list[Position], list[Rejected]]:
    """Turn one of EMQX's messages from the terminal `phone` of `vehicle_id` into position rows and the locations
    that were refused.

    Raises:
        Ignored: the message holds no position.
        InvalidMessage: the message as a whole is refused.
    """
    if len(payload) > limits.max_payload_bytes:
        raise InvalidMessage(Reason.OVERSIZE, f"{len(payload)} bytes, limit {limits.max_payload_bytes}")
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(Reason.MALFORMED_JSON, str(exc)) from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("header"), dict):
        raise InvalidMessage(Reason.BAD_SHAPE, "expected EMQX's object of a header and a body")
    header = _header(decoded["header"])
    if header.phone is not None and terminal_key(str(header.phone)) != terminal_key(phone):
        raise InvalidMessage(Reason.DEVICE_MISMATCH, f"topic is terminal {phone!r}, header names {header.phone!r}")
    if header.msg_id not in (LOCATION_REPORT, LOCATION_BATCH):
        raise Ignored(header.msg_id)
    if header.encrypt:
        # RSA (bit 0 of the 3 bits): EMQX passes the encrypted body on; the platform never sent a key (0x8A00).
        raise InvalidMessage(Reason.UNSUPPORTED_MESSAGE, f"encrypted body (encryption {header.encrypt})")
    items, blind = _locations(header.msg_id, decoded.get("body"), limits)
    rows: list[Position] = []
    rejected: list[Rejected] = []
    latest = received_at + limits.max_future
    for index, item in enumerate(items):
        try:
            row = _position(vehicle_id, item, received_at, blind)
        except InvalidMessage as exc:
            rejected.append(Rejected(exc.reason, f"location {index}: {exc.detail}"))
            continue
        if row.time > latest:
            rejected.append(Rejected(Reason.FUTURE_TIME, f"location {index}: {row.time.isoformat()} is in the future"))
        elif row.time < limits.oldest:
            rejected.append(
                Rejected(Reason.TOO_OLD, f"location {index}: {row.time.isoformat()} is before {limits.oldest:%Y}")
            )
        else:
            rows.append(row)
    return rows, rejected


def _locations(msg_id: int, body: object, limits: Limits) -> tuple[list[Any], bool]:
    """The locations of a 0x0200 or 0x0704 body, and whether they are a blind-zone resend."""
    if msg_id == LOCATION_REPORT:
        return [body], False
    batch = _batch(body)
    if len(batch.location) > limits.max_items:
        raise InvalidMessage(Reason.OVERSIZE, f"{len(batch.location)} locations, limit {limits.max_items}")
    return batch.location, batch.type == _BLIND_ZONE


def _header(value: object) -> _Header:
    try:
        return _Header.model_validate(value)
    except ValidationError as exc:
        raise InvalidMessage(Reason.INVALID_FIELD, f"header: {_first_error(exc)}") from None


def _batch(value: object) -> _Batch:
    try:
        return _Batch.model_validate(value)
    except ValidationError as exc:
        raise InvalidMessage(Reason.INVALID_FIELD, f"body: {_first_error(exc)}") from None


def _position(vehicle_id: str, value: object, received_at: datetime, blind: bool) -> Position:
    """One location as a position row, in the contract's units and bounds.

    Raises:
        InvalidMessage: the location is refused, with its reason.
    """
    try:
        wire = _Location.model_validate(value)
    except ValidationError as exc:
        raise InvalidMessage(Reason.INVALID_FIELD, _first_error(exc)) from None
    extra = wire.extra or _Extra()
    try:
        fix = location_of(
            alarm=wire.alarm,
            status=wire.status,
            latitude=wire.latitude,
            longitude=wire.longitude,
            altitude=wire.altitude,
            speed=wire.speed,
            direction=wire.direction,
            time=wire.time,
            mileage=extra.mileage,
            fuel=extra.fuel_meter,
            recorder_speed=extra.speed,
            signal=extra.rssi,
            satellites=extra.gnss_sat_num,
        )
    except InvalidFrame as exc:
        raise InvalidMessage(exc.reason, exc.detail) from None
    _check(fix)
    return Position(
        vehicle_id,
        fix.time,
        received_at,
        fix.latitude,
        fix.longitude,
        fix.speed,
        float(fix.direction),
        fix.ignition,
        fix.mileage,
        blind,
        float(fix.altitude),
        fix.satellites,
        None,
        None,
        fix.fuel,
        int(fix.alarm),
        int(fix.status),
    )


def _check(fix: Location) -> None:
    """The device contract's bounds that the wire's numbers can exceed once scaled (collector/position.py)."""
    if abs(fix.latitude) > 90 or abs(fix.longitude) > 180:
        raise InvalidMessage(
            Reason.IMPOSSIBLE_COORDINATES, f"latitude {fix.latitude}, longitude {fix.longitude} are not on Earth"
        )
    if fix.latitude == 0 and fix.longitude == 0:
        # Terminals without a GNSS fix commonly report 0, 0 (as the contract's `_has_a_fix`).
        raise InvalidMessage(
            Reason.IMPOSSIBLE_COORDINATES, "latitude and longitude are both 0: the terminal has no fix"
        )
    if fix.direction >= 360:
        raise InvalidMessage(Reason.INVALID_FIELD, f"direction {fix.direction} is not 0-359 degrees")
    if fix.speed > _MAX_SPEED:
        raise InvalidMessage(Reason.INVALID_FIELD, f"speed {fix.speed} km/h is above {_MAX_SPEED:g}")
    if fix.altitude > _MAX_ALTITUDE:
        raise InvalidMessage(Reason.INVALID_FIELD, f"altitude {fix.altitude} m is above {_MAX_ALTITUDE}")
