"""Official vehicles driving between offices: day plans, trips, parking and charging, GNSS fixes, blind zones.

Each vehicle starts every local day parked at its home institution. Its day (how many outings, when,
where to, how long it stays) follows from (seed, vehicle, day), and each outing's trips from
(seed, vehicle, departure time), so where a vehicle is at any time does not depend on when the
simulation started. Odometer, battery and fuel carry over from day to day within a run; a run starts
them from an estimate of the vehicle's life so far.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from domain.position import Position
from simulators.city import City, Vehicle
from simulators.holidays import is_rest_day
from simulators.meters import day_start, local_day
from simulators.seeds import bits, key, stream
from simulators.streets import M_PER_DEG_LAT, M_PER_DEG_LON, Router, Streets
from simulators.trips import Trip, plan_trip

PARK, IDLE, DRIVE = 0, 1, 2
ON_CALL_EVERY = 20
_HOUR = 3600
_NORMAL = math.sqrt(6) / 255  # two bytes summed and centred, scaled to unit variance


class Upload(NamedTuple):
    """What a terminal sends at once: one live fix, or the fixes it buffered out of coverage (each with the time it
    is sent as its receipt time)."""

    vehicle: int  # index in the city's vehicles
    fixes: list[Position]
    blind: bool


@dataclass(frozen=True, slots=True)
class _Model:
    """How much a vehicle type consumes and holds."""

    kwh_per_km: float
    litres_per_km: float
    tank: float  # L


_MODELS = {
    "sedan": _Model(0.14, 0.075, 50),
    "suv": _Model(0.17, 0.095, 60),
    "mpv": _Model(0.19, 0.105, 65),
    "minibus": _Model(0.28, 0.14, 80),
    "pickup": _Model(0.20, 0.11, 70),
    "van": _Model(0.20, 0.10, 55),
}
_CHARGER_KW = {"battery_electric": 7.0, "plug_in_hybrid": 3.3}
_HYBRID_RESERVE = 20.0  # % of battery below which a plug-in hybrid burns fuel


class _Segment:
    """A stretch of a vehicle's day: parked (ignition off), idling (on, standing), or driving a trip."""

    __slots__ = ("kind", "node", "switch", "t0", "t1", "trip")

    def __init__(self, kind: int, t0: int, t1: int, node: int, trip: Trip | None = None) -> None:
        self.kind = kind
        self.t0 = t0
        self.t1 = t1
        self.node = node  # where it stands; for a drive, where it goes
        self.trip = trip
        self.switch = t1  # when the ignition next changes


class _Car:
    __slots__ = (
        "accuracy",
        "battery",
        "blind",
        "buffer",
        "charger",
        "day",
        "energy",
        "fuel",
        "heading",
        "home",
        "id",
        "index",
        "model",
        "next_report",
        "node",
        "noise",
        "odometer",
        "on_call",
        "pace",
        "plan",
        "queue",
        "satellites",
        "seg",
        "soc",
        "status_bits",
        "usage",
    )

    def __init__(self, index: int, vehicle: Vehicle, home: int, seed: int) -> None:
        rng = stream(seed, "habits", vehicle.id)
        self.index = index
        self.id = vehicle.id
        self.home = home
        self.node = home
        self.energy = vehicle.energy
        self.model = _MODELS.get(vehicle.vehicle_type, _MODELS["sedan"])
        self.battery = vehicle.battery_kwh
        self.charger = _CHARGER_KW.get(vehicle.energy, 0.0)
        self.usage = rng.uniform(0.2, 0.9)  # chance of each of up to four outings on a working day
        # One vehicle in twenty is on call (值班, emergencies) and drives at any hour of any day, as in a real city:
        # the map is never still, on a Sunday night either.
        self.on_call = index % ON_CALL_EVERY == 0
        self.pace = rng.uniform(0.9, 1.08)
        self.noise = key(seed, "gnss", vehicle.id)
        self.satellites = rng.randint(9, 16)
        self.accuracy = rng.uniform(2.5, 5.0)
        # JT/T 808-2013 status bits 18/19: GPS and BeiDou in use; some terminals leave them unset.
        self.status_bits = (1 << 18) | (1 << 19) if rng.random() < 0.6 else 0
        self.heading = rng.uniform(0, 360)
        self.plan: list[tuple[int, list[tuple[int, int]]]] = []
        self.queue: deque[_Segment] = deque()
        self.blind: deque[tuple[int, int]] = deque()
        self.buffer: list[Position] = []
        self.day = -1
        self.seg = _Segment(PARK, 0, 0, home)
        self.next_report = 0
        self.odometer = 0.0
        self.soc = 0.0
        self.fuel = 0.0


class Fleet:
    """The city's vehicles from a start time on; `step` advances them and returns what their terminals send."""

    def __init__(
        self,
        city: City,
        seed: int,
        start: float,
        *,
        interval: float = 10.0,
        parked_interval: float = 300.0,
    ) -> None:
        """Place every vehicle where its day has brought it at `start` (epoch seconds).

        Args:
            city: the vehicles, their homes, the streets.
            seed: the simulation seed.
            start: the first instant simulated; reports begin within one reporting interval of it.
            interval: seconds between reports while the ignition is on.
            parked_interval: seconds between reports while parked with the ignition off.
        """
        self.city = city
        self.streets: Streets = city.streets
        self.interval = max(1, round(interval))
        self.parked_interval = max(self.interval, round(parked_interval))
        self._seed = seed
        self._router = Router(city.streets)
        institutions = city.institutions_by_id()
        self._places = sorted({i.node for i in city.institutions})
        self._agencies = sorted({i.node for i in city.institutions if i.category == "agency"}) or self._places
        self.cars = [_Car(n, v, institutions[v.home_institution_id].node, seed) for n, v in enumerate(city.vehicles)]
        t0 = math.floor(start)
        for car in self.cars:
            self._start(car, t0)

    def step(self, until: float) -> list[Upload]:
        """Advance every vehicle to `until` (epoch seconds) and return the reports due by then, in time order
        per vehicle."""
        out: list[Upload] = []
        for car in self.cars:
            while car.next_report <= until:
                t = car.next_report
                self._advance(car, t)
                blind = car.blind
                while blind and blind[0][1] <= t:
                    blind.popleft()
                covered = not (blind and blind[0][0] <= t)
                fix = self._fix(car, t, blind=not covered)
                if covered:
                    if car.buffer:
                        sent = fix.received_at
                        out.append(Upload(car.index, [f._replace(received_at=sent) for f in car.buffer], True))
                        car.buffer = []
                    out.append(Upload(car.index, [fix], False))
                else:
                    car.buffer.append(fix)
                seg = car.seg
                cadence = self.parked_interval if seg.kind == PARK else self.interval
                car.next_report = min(t + cadence, seg.switch) if seg.switch > t else t + cadence
        return out

    # The life of a car: days, outings, segments.

    def _start(self, car: _Car, t0: int) -> None:
        rng = stream(self._seed, "start", car.id)
        vehicle = self.city.vehicles[car.index]
        first = local_day(t0)
        registered = date(2016, 1, 1) + timedelta(days=rng.randrange(8 * 365))
        age = max(0, first - (registered - date(1970, 1, 1)).days)
        car.odometer = rng.uniform(0, 3000) + age * (15 + 45 * car.usage) * rng.uniform(0.8, 1.2)
        car.soc = rng.uniform(70, 100) if vehicle.battery_kwh else 0.0
        car.fuel = car.model.tank * rng.uniform(0.35, 1.0) if vehicle.energy != "battery_electric" else 0.0
        day0 = day_start(first)
        car.seg = _Segment(PARK, int(day0), int(day0), car.home)
        car.day = first - 1
        self._advance(car, t0)
        # Terminals are not synchronised: the first report comes somewhere within one cadence.
        cadence = self.parked_interval if car.seg.kind == PARK else self.interval
        car.next_report = t0 + int(bits(car.noise, 0) % cadence)
        car.next_report = min(car.next_report, car.seg.switch) if car.seg.switch > t0 else car.next_report

    def _advance(self, car: _Car, t: int) -> None:
        while car.seg.t1 <= t:
            self._finish(car, car.seg)
            self._next(car)

    def _finish(self, car: _Car, seg: _Segment) -> None:
        if seg.kind == DRIVE and seg.trip is not None:
            km = seg.trip.length / 1000
            car.odometer += km
            car.soc, car.fuel = self._after_drive(car, km)
            car.heading = seg.trip.bearings[-1]
            car.node = seg.node
        elif seg.kind == PARK:
            car.soc = self._charged(car, seg, seg.t1)

    def _next(self, car: _Car) -> None:
        t = car.seg.t1
        if car.queue:
            car.seg = car.queue.popleft()
            return
        if car.seg.kind == PARK and car.plan and car.plan[0][0] <= t:
            _, stops = car.plan.pop(0)
            self._outing(car, t, stops)
            car.seg = car.queue.popleft()
            return
        day = local_day(t)
        if day != car.day:
            car.day = day
            car.plan = self._plan(car, day)
        while car.plan and car.plan[0][0] < t - _HOUR:
            car.plan.pop(0)  # the car came back too late for it: someone else went
        until = max(car.plan[0][0], t + 300) if car.plan else int(day_start(day + 1))
        if car.node == car.home and car.fuel and car.fuel < 0.2 * car.model.tank:
            car.fuel = car.model.tank * 0.95  # filled up on the way back, shows once parked
        car.seg = _Segment(PARK, t, until, car.node)

    def _plan(self, car: _Car, day: int) -> list[tuple[int, list[tuple[int, int]]]]:
        """The outings of a day: departure time and the stops (intersection, minutes parked there)."""
        rng = stream(self._seed, "plan", car.id, day)
        base = day_start(day)
        rest = is_rest_day(date(1970, 1, 1) + timedelta(days=day))
        hours: list[float] = []
        if not rest:
            hours = [rng.uniform(8.0, 16.5) for _ in range(4) if rng.random() < car.usage]
        elif rng.random() < 0.05:
            hours = [rng.uniform(9.0, 16.0)]  # weekend duty
        if car.on_call:
            hours += [rng.uniform(0.0, 23.5) for _ in range(rng.randint(3, 6))]
        # Now and then a trip outside working hours: what supervision exists to catch.
        if rng.random() < (0.03 if rest else 0.02):
            hours.append(rng.uniform(19.0, 22.0) if rng.random() < 0.8 else rng.uniform(6.0, 7.2))
        plan = []
        for hour in sorted(hours):
            # Working-day outings are over by about half past five, travel home aside.
            left = (17.5 - hour) * 60 if 8.0 <= hour < 17.5 and not rest and not car.on_call else 150.0
            stops: list[tuple[int, int]] = []
            for _ in range(2 if rng.random() < 0.3 else 1):
                pool = self._agencies if rng.random() < 0.5 else self._places
                node = rng.choice(pool)
                if node == car.home or (stops and node == stops[-1][0]):
                    node = rng.choice(self._places)
                minutes = max(15, min(rng.randint(15, 150), int(left)))
                left -= minutes
                stops.append((node, minutes * 60))
            plan.append((int(base + hour * _HOUR), stops))
        return plan

    def _outing(self, car: _Car, t: int, stops: list[tuple[int, int]]) -> None:
        """Queue the segments of an outing from the car's place: to each stop, then home."""
        rng = stream(self._seed, "outing", car.id, t)
        hour = (t - day_start(local_day(t))) / _HOUR
        rush = 7.5 <= hour < 9.0 or 17.0 <= hour < 18.5
        pace = car.pace * (0.75 if rush else 1.0)
        at = car.node
        chain: list[_Segment] = []
        for node, dwell in [*stops, (car.home, 0)]:
            if node != at:
                warm = rng.randint(30, 150)
                chain.append(_Segment(IDLE, t, t + warm, at))
                t += warm
                trip = plan_trip(self.streets, self._router.path(at, node), rng, pace)
                duration = math.ceil(trip.duration)
                chain.append(_Segment(DRIVE, t, t + duration, node, trip))
                if rng.random() < 0.12:  # a blind zone on the way: the terminal buffers its fixes
                    w0 = t + int(duration * rng.uniform(0.1, 0.8))
                    car.blind.append((w0, w0 + rng.randint(60, 420)))
                t += duration
                settle = rng.randint(15, 90)
                chain.append(_Segment(IDLE, t, t + settle, node))
                t += settle
                at = node
            if dwell:
                chain.append(_Segment(PARK, t, t + dwell, node))
                t += dwell
        # Within a run of ignition-on segments, the switch is where the run ends.
        switch = t
        for seg in reversed(chain):
            if seg.kind == PARK:
                switch = seg.t0
            else:
                seg.switch = switch
        if not chain:  # every stop is where the car already is
            chain.append(_Segment(IDLE, t, t + 60, at))
        car.queue.extend(chain)

    # What the terminal reports.

    def _after_drive(self, car: _Car, km: float) -> tuple[float, float]:
        soc, fuel = car.soc, car.fuel
        if car.energy == "battery_electric" and car.battery:
            soc = max(0.0, soc - km * car.model.kwh_per_km / car.battery * 100)
        elif car.energy == "plug_in_hybrid" and car.battery:
            electric = max(0.0, min(km, (soc - _HYBRID_RESERVE) / 100 * car.battery / car.model.kwh_per_km))
            soc = max(0.0, soc - electric * car.model.kwh_per_km / car.battery * 100)
            fuel = max(0.0, fuel - (km - electric) * car.model.litres_per_km * 0.8)
        else:
            fuel = max(0.0, fuel - km * car.model.litres_per_km)
        return soc, fuel

    def _charged(self, car: _Car, seg: _Segment, t: float) -> float:
        if car.charger and car.battery and seg.node == car.home:
            return min(100.0, car.soc + car.charger * (t - seg.t0) / _HOUR / car.battery * 100)
        return car.soc

    def _fix(self, car: _Car, t: int, *, blind: bool) -> Position:
        seg = car.seg
        # Four roughly normal draws (sums of two bytes) from one hash of (vehicle, time).
        noise = bits(car.noise, t)
        n1 = ((noise & 0xFF) + ((noise >> 8) & 0xFF) - 255) * _NORMAL
        n2 = (((noise >> 16) & 0xFF) + ((noise >> 24) & 0xFF) - 255) * _NORMAL
        n3 = (((noise >> 32) & 0xFF) + ((noise >> 40) & 0xFF) - 255) * _NORMAL
        n4 = (((noise >> 48) & 0xFF) + ((noise >> 56) & 0xFF) - 255) * _NORMAL
        if seg.kind == DRIVE and seg.trip is not None:
            lat, lon, v, heading, s = seg.trip.at(t - seg.t0)
            soc, fuel = self._after_drive(car, s / 1000)
            odometer = car.odometer + s / 1000
            speed = max(0.0, v * 3.6 + 0.3 * n3) if v > 0.3 else 0.0
            if speed:
                heading = (heading + 1.5 * n4) % 360
        else:
            lat, lon = self.streets.position(seg.node)
            speed, heading, odometer, fuel = 0.0, car.heading, car.odometer, car.fuel
            soc = self._charged(car, seg, t) if seg.kind == PARK else car.soc
        accuracy = car.accuracy * (1 + (noise & 0x7) / 14)
        lat += n1 * accuracy * 0.5 / M_PER_DEG_LAT
        lon += n2 * accuracy * 0.5 / M_PER_DEG_LON
        ignition = seg.kind != PARK
        altitude = 35 + 250 * (lat - 29.25) + 12 * math.sin((lon - 117.15) * 60) + 0.8 * n3
        # To the units JT/T 808 sends (1e-6 degree, 0.1 km/h, 0.1 km...). Every value here is positive,
        # so rounding half up by hand is exact enough at a fraction of round()'s cost, which shows here.
        time = datetime.fromtimestamp(t, UTC)
        # Positional, in Position's field order: keywords make a NamedTuple slower, and a city's day is millions.
        # A live report goes out as it is taken (received_at = time); a buffered one gets its time of upload.
        return Position(
            car.id,
            time,
            time,
            int(lat * 1e6 + 0.5) / 1e6,
            int(lon * 1e6 + 0.5) / 1e6,
            int(speed * 10 + 0.5) / 10,
            float(int(heading + 0.5) % 360),
            ignition,
            int(odometer * 10 + 0.5) / 10,
            blind,
            int(altitude * 10 + 0.5) / 10,
            car.satellites + (noise >> 61) - 3,
            int(accuracy * 10 + 0.5) / 10,
            int(soc * 10 + 0.5) / 10 if car.battery else None,
            int(fuel * 10 + 0.5) / 10 if car.energy != "battery_electric" else None,
            0,
            int(ignition) | 2 | car.status_bits,
        )
