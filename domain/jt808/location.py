"""The location information of 0x0200 (JT/T 808 section 8.18), also each item of a 0x0704 batch.

    alarm DWORD | status DWORD | latitude DWORD | longitude DWORD | altitude WORD | speed WORD | direction WORD |
    time BCD[6] | additional items: id BYTE, length BYTE, value

Latitude and longitude are unsigned millionths of a degree; the hemisphere is in the status bits (south, west).
Speed is in tenths of km/h, altitude in metres, direction 0-359 degrees clockwise from north. The time is
YYMMDDhhmmss in GMT+8, read here into an aware UTC datetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import IntFlag

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.fields import Reader

BEIJING = timezone(timedelta(hours=8), "GMT+8")
BASIC_BYTES = 28


class Alarm(IntFlag):
    """The alarm word's bits (table 24; 2019 adds bits 15-17). Bits a vendor redefines stay in the value."""

    EMERGENCY = 1 << 0  # the emergency button was pressed
    OVERSPEED = 1 << 1
    FATIGUE = 1 << 2
    DANGER_WARNING = 1 << 3
    GNSS_MODULE_FAULT = 1 << 4
    GNSS_ANTENNA_CUT = 1 << 5  # not connected or cut
    GNSS_ANTENNA_SHORT = 1 << 6
    MAIN_POWER_LOW = 1 << 7
    MAIN_POWER_CUT = 1 << 8  # the terminal lost its main power: often it is being removed
    DISPLAY_FAULT = 1 << 9
    TTS_FAULT = 1 << 10
    CAMERA_FAULT = 1 << 11
    IC_CARD_FAULT = 1 << 12  # the road transport certificate IC card module
    OVERSPEED_WARNING = 1 << 13
    FATIGUE_WARNING = 1 << 14
    VIOLATION_WARNING = 1 << 15  # 2019
    TYRE_PRESSURE_WARNING = 1 << 16  # 2019
    RIGHT_TURN_BLIND_SPOT_WARNING = 1 << 17  # 2019
    DRIVING_TIME_EXCEEDED = 1 << 18  # the day's driving
    OVERTIME_PARKING = 1 << 19
    AREA_ENTRY_EXIT = 1 << 20
    ROUTE_ENTRY_EXIT = 1 << 21
    ROUTE_TIME_WRONG = 1 << 22  # too short or too long on a road section
    ROUTE_DEVIATION = 1 << 23
    VSS_FAULT = 1 << 24
    FUEL_ABNORMAL = 1 << 25
    STOLEN = 1 << 26
    ILLEGAL_IGNITION = 1 << 27
    ILLEGAL_DISPLACEMENT = 1 << 28
    COLLISION_WARNING = 1 << 29
    ROLLOVER_WARNING = 1 << 30
    ILLEGAL_DOOR_OPEN = 1 << 31


class Status(IntFlag):
    """The status word's bits (table 25; 2019 adds bits 6, 7 and 22). Bits 8-9 are the load, see `Location.load`."""

    ACC = 1 << 0  # ignition on
    POSITIONED = 1 << 1  # the fix is valid
    SOUTH = 1 << 2
    WEST = 1 << 3
    OUT_OF_SERVICE = 1 << 4
    COORDINATES_ENCRYPTED = 1 << 5  # by a confidentiality plug-in
    FORWARD_COLLISION_WARNING = 1 << 6  # 2019, from the emergency braking system
    LANE_DEPARTURE_WARNING = 1 << 7  # 2019
    LOAD_LOW = 1 << 8
    LOAD_HIGH = 1 << 9
    FUEL_CUT = 1 << 10  # the oil circuit is disconnected
    CIRCUIT_CUT = 1 << 11
    DOORS_LOCKED = 1 << 12
    DOOR_1_OPEN = 1 << 13  # front door
    DOOR_2_OPEN = 1 << 14  # middle door
    DOOR_3_OPEN = 1 << 15  # rear door
    DOOR_4_OPEN = 1 << 16  # driver's door
    DOOR_5_OPEN = 1 << 17  # a door the operator defines
    GPS = 1 << 18  # satellites of each system used in the fix
    BEIDOU = 1 << 19
    GLONASS = 1 << 20
    GALILEO = 1 << 21
    MOVING = 1 << 22  # 2019: the vehicle is driving


_LOADS = ("empty", "half", "reserved", "full")

# The additional items the platform reads (table 27): id -> (name, length in bytes).
MILEAGE, FUEL, RECORDER_SPEED, SIGNAL, SATELLITES = 0x01, 0x02, 0x03, 0x30, 0x31
_KNOWN = {MILEAGE: 4, FUEL: 2, RECORDER_SPEED: 2, SIGNAL: 1, SATELLITES: 1}


@dataclass(frozen=True, slots=True)
class Location:
    """One fix as the terminal reported it, in the units of the Position contract (degrees, m, km/h, km, L).

    `alarm` and `status` are the words as received (an IntFlag keeps the bits it has no name for). An additional
    item is None when the terminal did not send it; items the platform does not read stay in `extra` as (id, value).
    """

    alarm: Alarm
    status: Status
    latitude: float  # WGS-84 degrees, negative south
    longitude: float  # negative west
    altitude: int  # m
    speed: float  # km/h, from the satellites
    direction: int  # degrees clockwise from north
    time: datetime  # the fix, aware UTC
    mileage: float | None = None  # km, item 0x01 (the odometer)
    fuel: float | None = None  # L, item 0x02
    recorder_speed: float | None = None  # km/h, item 0x03, from the driving recorder
    signal: int | None = None  # item 0x30, the mobile network's signal strength
    satellites: int | None = None  # item 0x31, in the fix
    extra: tuple[tuple[int, bytes], ...] = ()

    @property
    def ignition(self) -> bool:
        return Status.ACC in self.status

    @property
    def positioned(self) -> bool:
        return Status.POSITIONED in self.status

    @property
    def load(self) -> str:
        """Bits 8-9 of the status: empty, half, reserved or full."""
        return _LOADS[(self.status >> 8) & 0b11]


def decode_location(body: bytes, what: str = "0x0200") -> Location:
    """The location of a 0x0200 body (or of one 0x0704 item).

    Raises:
        InvalidFrame: `truncated` when the basic information or an item is cut short; `invalid_field` for a time
            that is not a BCD date, or a known item of the wrong length.
    """
    read = Reader(body, what)
    alarm = read.dword("alarm")
    status = read.dword("status")
    latitude = read.dword("latitude")
    longitude = read.dword("longitude")
    altitude = read.word("altitude")
    speed = read.word("speed")
    direction = read.word("direction")
    time = read.bcd(6, "time")
    items: dict[int, bytes] = {}
    extra: list[tuple[int, bytes]] = []
    while read.remaining:
        item = read.byte("additional item id")
        value = read.take(read.byte(f"item 0x{item:02x} length"), f"item 0x{item:02x}")
        if item not in _KNOWN:
            extra.append((item, value))
        elif len(value) != _KNOWN[item]:
            raise InvalidFrame(
                Reason.INVALID_FIELD, f"{what}: item 0x{item:02x} has {len(value)} bytes, not {_KNOWN[item]}"
            )
        else:
            items[item] = value
    number = {item: int.from_bytes(value, "big") for item, value in items.items()}
    return location_of(
        alarm=alarm,
        status=status,
        latitude=latitude,
        longitude=longitude,
        altitude=altitude,
        speed=speed,
        direction=direction,
        time=time,
        mileage=number.get(MILEAGE),
        fuel=number.get(FUEL),
        recorder_speed=number.get(RECORDER_SPEED),
        signal=number.get(SIGNAL),
        satellites=number.get(SATELLITES),
        extra=tuple(extra),
        what=what,
    )


def location_of(
    *,
    alarm: int,
    status: int,
    latitude: int,
    longitude: int,
    altitude: int,
    speed: int,
    direction: int,
    time: str,
    mileage: int | None = None,
    fuel: int | None = None,
    recorder_speed: int | None = None,
    signal: int | None = None,
    satellites: int | None = None,
    extra: tuple[tuple[int, bytes], ...] = (),
    what: str = "0x0200",
) -> Location:
    """A location from the numbers as the protocol carries them, the one place its units become the contract's:
    unsigned millionths of a degree with the hemisphere in the status bits, tenths of km/h, tenths of km (item
    0x01), tenths of L (item 0x02), the time as the 12 BCD digits YYMMDDhhmmss in GMT+8. Also what reads the JSON
    of another gateway that passes these numbers on unscaled (EMQX's, collector/emqx_jt808.py).

    Raises:
        InvalidFrame: `invalid_field` for a time that is not 12 digits of a date.
    """
    flags = Status(status)
    return Location(
        alarm=Alarm(alarm),
        status=flags,
        latitude=-latitude / 1e6 if Status.SOUTH in flags else latitude / 1e6,
        longitude=-longitude / 1e6 if Status.WEST in flags else longitude / 1e6,
        altitude=altitude,
        speed=speed / 10,
        direction=direction,
        time=_beijing_time(time, what),
        mileage=mileage / 10 if mileage is not None else None,
        fuel=fuel / 10 if fuel is not None else None,
        recorder_speed=recorder_speed / 10 if recorder_speed is not None else None,
        signal=signal,
        satellites=satellites,
        extra=extra,
    )


def _beijing_time(digits: str, what: str) -> datetime:
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        raise InvalidFrame(Reason.INVALID_FIELD, f"{what}: time {digits[:24]!r} is not 12 digits")
    # YY is 20YY: strptime's %y would read 69-99 as 1969-1999.
    year, month, day, hour, minute, second = (int(digits[i : i + 2]) for i in range(0, 12, 2))
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, tzinfo=BEIJING)
    except ValueError:
        raise InvalidFrame(Reason.INVALID_FIELD, f"{what}: time {digits} is not a date") from None
    return local.astimezone(UTC)
