"""Positions made by hand in tests: fixes along a street that runs due north (a meridian, so that great-circle
distances are exact), and days of a vehicle written as what it did."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.geo import EARTH_RADIUS_M
from domain.position import Position

T0 = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)  # 08:00 in Beijing, a Monday
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = date(2025, 3, 10)  # T0 is 08:00 of this day in Beijing
LAT0, LON0 = 30.25, 120.15
VEHICLE = "v-street"
# Along a meridian of the mean Earth sphere (domain/geo.py): 111.195 km.
KM_PER_DEGREE_OF_LATITUDE = EARTH_RADIUS_M / 1000 * math.pi / 180


def fix(
    seconds: float,
    north_m: float = 0.0,
    *,
    east_m: float = 0.0,
    speed: float = 0.0,
    ignition: bool = True,
    odometer: float | None = None,
    received_after: float = 1.0,
) -> Position:
    """A fix `north_m` up the street: along a meridian, so the great-circle distance is exactly R·Δφ."""
    time = T0 + timedelta(seconds=seconds)
    return Position(
        vehicle_id=VEHICLE,
        time=time,
        latitude=LAT0 + math.degrees(north_m / EARTH_RADIUS_M),
        longitude=LON0 + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(LAT0)))),
        speed=speed,
        heading=0.0,
        odometer=odometer,
        ignition=ignition,
        received_at=time + timedelta(seconds=received_after),
    )


def straight(count: int, *, every: float = 10.0, kmh: float = 50.0) -> list[Position]:
    return [fix(i * every, kmh / 3.6 * every * i, speed=kmh) for i in range(count)]


def spike(of: Position, east_m: float = 5000.0) -> Position:
    """The same report thrown `east_m` off the street, as a multipath fix is."""
    return of._replace(longitude=of.longitude + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(LAT0)))))


def wander(seed: int, count: int, *, every: float, metres: float, tau: float) -> list[tuple[float, float]]:
    """(north, east) offsets in metres of a standing GNSS receiver, `count` fixes `every` seconds apart.

    Each axis is a first-order Gauss-Markov process (the usual model of GNSS position error): standard deviation
    `metres`, correlated over `tau` seconds, so that neighbouring fixes drift together as a parked vehicle's do.
    """
    rng = random.Random(seed)
    keep = math.exp(-every / tau)
    step = metres * math.sqrt(1 - keep * keep)
    north, east = rng.gauss(0, metres), rng.gauss(0, metres)
    out = []
    for _ in range(count):
        out.append((north, east))
        north, east = keep * north + rng.gauss(0, step), keep * east + rng.gauss(0, step)
    return out


class Day:
    """A vehicle's day written as what it did; the terminal reports every 10 s when on, every 5 min parked."""

    def __init__(self, odometer_km: float | None = 52_731.0) -> None:
        self.t = 0.0
        self.at = 0.0  # metres up the street
        self.odometer_km = odometer_km
        self.fixes: list[Position] = []

    def _report(self, *, speed: float, ignition: bool) -> None:
        # Terminals send the odometer in 0.1 km.
        odometer = None if self.odometer_km is None else round(self.odometer_km, 1)
        self.fixes.append(fix(self.t, self.at, speed=speed, ignition=ignition, odometer=odometer))

    def park(self, seconds: float, every: float = 300.0) -> Day:
        for _ in range(round(seconds / every)):
            self._report(speed=0.0, ignition=False)
            self.t += every
        return self

    def idle(self, seconds: float, every: float = 10.0) -> Day:
        for _ in range(round(seconds / every)):
            self._report(speed=0.0, ignition=True)
            self.t += every
        return self

    def drive(self, metres: float, kmh: float, every: float = 10.0) -> Day:
        """Move off at `kmh` from the first report and arrive at the last: the metres are exact."""
        step = kmh / 3.6 * every * (1 if metres > 0 else -1)
        steps = round(abs(metres / step))
        for _ in range(steps):
            self._report(speed=kmh, ignition=True)
            self.t += every
            self.at += step
            if self.odometer_km is not None:
                self.odometer_km += abs(step) / 1000
        self._report(speed=kmh, ignition=True)  # arriving, still rolling
        self.t += every
        return self

    def silent(self, seconds: float) -> Day:
        self.t += seconds
        return self


def working_day(odometer_km: float | None = 52_731.0) -> Day:
    """Parked from 07:00, 12 km out, 2 h there, 4.5 km on, 3 h there, 16.5 km back, parked until 18:00."""
    return (
        Day(odometer_km)
        .park(3600)
        .idle(60)
        .drive(12_000, 36)
        .idle(60)
        .park(2 * 3600)
        .idle(30)
        .drive(4_500, 54)
        .idle(30)
        .park(3 * 3600)
        .idle(60)
        .drive(-16_500, 66)
        .idle(60)
        .park(2 * 3600)
    )


def two_drives() -> Day:
    """Parked from 08:00, 12 km out at 36 km/h, two hours there, 12 km back at 54 km/h, parked."""
    return (
        Day()
        .park(3600)
        .idle(60)
        .drive(12_000, 36)
        .idle(60)
        .park(2 * 3600)
        .idle(30)
        .drive(-12_000, 54)
        .idle(30)
        .park(2 * 3600)
    )


def two_days() -> list[Position]:
    """A working day, an evening drive of 20 km that leaves at 23:55 and arrives after midnight, a silent night
    (the terminal sleeps), and a morning's two drives."""
    day = working_day()
    # Parked from 16:45:30, when the working day ends, to 23:50:30; moving off at 23:55:30, arriving at 00:15:40.
    day.park(25_500).idle(300).drive(20_000, 60).idle(60).park(1800)
    day.silent(5 * 3600)
    day.idle(60).drive(8_000, 36).idle(60).park(3600).idle(60).drive(-8_000, 36).idle(60).park(1800)
    return day.fixes


def of_vehicle(vehicle: str, fixes: Sequence[Position]) -> list[Position]:
    """The fixes as a vehicle's terminal reported them, as the collector stores them (with its satellites)."""
    return [f._replace(vehicle_id=vehicle, satellites=10) for f in fixes]
