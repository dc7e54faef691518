"""Cumulative meter registers as a pure function of (seed, meter, time), with daily, weekly and seasonal shape.

A register never depends on when the simulator started: it is the meter's consumption since its
installation, found in O(1) for any instant from prefix sums over the calendar. A restarted simulator
therefore continues every register exactly where a real meter would be.

Consumption on day k is `mean * ((1 - s*e[k]) * u[k] + s*e[k+1] * u[k+1])`, where u is the day's shape
(season x weekday x holiday x vacation x trend) and e[k] a uniform hash of (seed, meter, k). The noise
telescopes, so the sum to any day is `mean * (U[k] + s*e[k]*u[k])` with U the prefix sum of u: exact,
positive, about +-12% from day to day. Within a day, the consumption follows an hourly profile of the
category and energy (working hours, lunch, night base load), one of a few noisy variants per day.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache

from domain.energy import Category
from domain.reading import Reading
from simulators.city import City, Meter
from simulators.holidays import is_rest_day, is_school_vacation
from simulators.seeds import key, stream, unit

LOCAL_OFFSET = 8 * 3600  # Asia/Shanghai, no daylight saving since 1991
DAY = 86400
FIRST_DAY = date(2010, 1, 1)
LAST_DAY = date(2045, 12, 31)
_DAY0 = (FIRST_DAY - date(1970, 1, 1)).days
_TREND_REFERENCE = (date(2024, 1, 1) - date(1970, 1, 1)).days
_NOISE = 0.3  # day-to-day noise amplitude (see the module docstring)
_VARIANTS = 8  # noisy intraday profiles per shape and day type
_INTRADAY_NOISE = 0.10


def local_day(t: float) -> int:
    """The local (UTC+8) calendar day of an epoch time, as days since 1970-01-01."""
    return int((t + LOCAL_OFFSET) // DAY)


def day_start(day: int) -> float:
    """Epoch seconds of local midnight starting the day."""
    return float(day * DAY - LOCAL_OFFSET)


# Hourly levels (0-23 h) of a working day and of a rest day; only their shape matters.
_HOURLY: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "office": (
        (0.35,) * 7 + (0.6, 0.95, 1, 1, 1, 0.8, 0.75, 1, 1, 1, 0.85, 0.6, 0.5, 0.45, 0.4, 0.35, 0.35),
        (0.35,) * 8 + (0.45,) * 10 + (0.4,) * 2 + (0.35,) * 4,
    ),
    "school": (
        (0.25,) * 7 + (0.7, 1, 1, 1, 1, 0.8, 0.85, 1, 1, 1, 0.8, 0.7, 0.85, 0.85, 0.85, 0.4, 0.25),
        (0.25,) * 8 + (0.35,) * 10 + (0.3,) * 2 + (0.25,) * 4,
    ),
    "hospital": (
        (0.65,) * 7 + (0.8, 1, 1, 1, 1, 0.9, 0.9, 1, 1, 1, 1, 0.85, 0.85, 0.85, 0.75, 0.7, 0.7),
        (0.65,) * 7 + (0.75,) + (0.85,) * 11 + (0.8, 0.75, 0.7, 0.65, 0.65),
    ),
    "venue": (
        (0.3,) * 8 + (0.5, 1, 1, 1, 0.9, 0.9, 1, 1, 1, 1, 1, 1, 1, 0.6, 0.4, 0.3),
        (0.3,) * 8 + (0.6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.6, 0.4, 0.3),
    ),
    "cooling": (
        (0.1,) * 7 + (0.3, 0.8, 1, 1, 1, 0.9, 1, 1.2, 1.2, 1.2, 1, 0.5, 0.3, 0.25, 0.2, 0.15, 0.1),
        (0.1,) * 8 + (0.2,) * 10 + (0.15,) * 2 + (0.1,) * 4,
    ),
    "continuous": ((1.0,) * 24, (1.0,) * 24),
    "water": (
        (0.1,) * 7 + (0.5, 1.2, 0.9, 0.9, 1.2, 1.3, 0.8, 0.8, 0.8, 0.8, 1, 0.5, 0.2, 0.2, 0.2, 0.2, 0.1),
        (0.1,) * 8 + (0.3,) * 10 + (0.15,) * 6,
    ),
    "water_24h": (
        (0.4,) * 7 + (0.7, 1, 1, 1, 1, 1.1, 1, 1, 1, 1, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4),
        (0.4,) * 7 + (0.6,) + (0.9,) * 11 + (0.8, 0.7, 0.6, 0.5, 0.4),
    ),
    "canteen": (
        (0.03,) * 6 + (0.4, 0.8, 0.4, 0.4, 1.2, 1.2, 0.6, 0.2, 0.2, 0.2, 1, 1, 0.4, 0.05, 0.05, 0.05, 0.05, 0.03),
        (0.03,) * 7 + (0.1,) * 11 + (0.03,) * 6,
    ),
    "boiler": (
        (0.35,) * 6 + (0.6, 0.9, 0.7, 0.7, 1.2, 1.2, 0.8, 0.6, 0.6, 0.6, 1, 1, 0.7, 0.5, 0.4, 0.35, 0.35, 0.35),
        (0.35,) * 6 + (0.5, 0.8) + (0.7,) * 10 + (0.5,) * 2 + (0.35,) * 4,
    ),
}
_BUILDING: dict[Category, str] = {
    "agency": "office",
    "public_institution": "office",
    "community": "office",
    "school": "school",
    "hospital": "hospital",
    "venue": "venue",
}
# Rest-day level against a working day: offices half-empty, hospitals nearly as busy, venues busier.
_REST: dict[Category, float] = {
    "agency": 0.45,
    "public_institution": 0.5,
    "school": 0.4,
    "hospital": 0.9,
    "community": 0.6,
    "venue": 1.15,
}
# Seasonal amplitudes (summer cooling, winter heating). Jiangxi has hot humid summers and cold damp
# winters without district heating, so air conditioning drives both peaks of electricity.
_SUMMER: dict[Category, float] = {
    "agency": 0.45,
    "public_institution": 0.4,
    "school": 0.25,
    "hospital": 0.35,
    "community": 0.3,
    "venue": 0.45,
}


def _channel(meter: Meter) -> str:
    return meter.sub_item or meter.energy_type


def _bump(day_of_year: int, centre: int, width: float) -> float:
    distance = min(abs(day_of_year - centre), 365 - abs(day_of_year - centre))
    return math.exp(-((distance / width) ** 2))


# (base, summer, winter) amplitudes of the channels that do not follow the building's electricity.
_SEASONS: dict[str, tuple[float, float, float]] = {
    "air_conditioning": (0.3, 2.0, 1.0),
    "lighting_socket": (1.0, 0.0, 0.08),  # longer evenings
    "power": (1.0, 0.1, 0.0),
    "special": (1.0, 0.1, 0.0),
    "water": (1.0, 0.25, 0.0),
    "natural_gas": (1.0, -0.2, 0.6),  # hot water and heating
    "heat": (0.2, 0.0, 2.0),
}


def _season(category: Category, channel: str, doy: int) -> float:
    base, summer, winter = _SEASONS.get(channel, (1.0, _SUMMER[category], 0.15 if category == "hospital" else 0.2))
    return base + summer * _bump(doy, 205, 40) + winter * _bump(doy, 20, 30)


def _hourly(category: Category, channel: str) -> str:
    if channel == "air_conditioning":
        return "cooling"
    if channel == "special":
        return "continuous"
    if channel == "water":
        return "water_24h" if category == "hospital" else "water"
    if channel in ("natural_gas", "heat"):
        return "boiler" if category == "hospital" else "canteen"
    return _BUILDING[category]


class Profile:
    """The shape of consumption of one category and channel: per day over the calendar, and per hour."""

    def __init__(self, category: Category, channel: str) -> None:
        rest, vacation, day_of_year = _calendar()
        rest_level = _REST[category]
        if channel == "natural_gas" and category != "hospital":
            rest_level = min(rest_level, 0.3)  # canteens closed
        week_mean = (5 + 2 * rest_level) / 7
        season = [_season(category, channel, d) for d in range(366)]
        season_mean = sum(season[:365]) / 365
        day_level = (1 / week_mean / season_mean, rest_level / week_mean / season_mean)
        school = category == "school"
        shape = [
            season[doy] * day_level[r] * (0.4 if school and v else 1.0)
            for r, v, doy in zip(rest, vacation, day_of_year, strict=True)
        ]
        days = len(shape)
        years = [(_DAY0 + i - _TREND_REFERENCE) / 365.25 for i in range(days)]
        self.shape = shape
        self.years = years
        self.rest = rest
        self.prefix = _prefix(shape)
        self.prefix_years = _prefix([s * y for s, y in zip(shape, years, strict=True)])
        self.variants = tuple(_variants(name, noise_key) for name, noise_key in _day_types(category, channel))
        self._sampled: dict[tuple[float, ...], tuple[tuple[list[float], ...], ...]] = {}

    def sampled(self, offsets: tuple[float, ...]) -> tuple[tuple[list[float], ...], ...]:
        """The cumulative day fraction at these hours of the day, per day type and variant."""
        found = self._sampled.get(offsets)
        if found is None:
            found = tuple(tuple([_interpolate(f, h) for h in offsets] for f in vs) for vs in self.variants)
            self._sampled[offsets] = found
        return found


@cache
def _calendar() -> tuple[bytes, bytes, list[int]]:
    """Per day of the simulated calendar: rest day, school vacation, day of the year (0-365)."""
    days = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 2)]
    return (
        bytes(is_rest_day(d) for d in days),
        bytes(is_school_vacation(d) for d in days),
        [d.timetuple().tm_yday - 1 for d in days],
    )


def _day_types(category: Category, channel: str) -> list[tuple[tuple[float, ...], str]]:
    working, rest = _HOURLY[_hourly(category, channel)]
    return [(working, f"{category}/{channel}/working"), (rest, f"{category}/{channel}/rest")]


def _variants(levels: tuple[float, ...], noise_key: str) -> tuple[list[float], ...]:
    rng = random.Random(noise_key)
    out = []
    for _ in range(_VARIANTS):
        hours = [max(0.02, level * (1 + _INTRADAY_NOISE * rng.gauss())) for level in levels]
        total = sum(hours)
        cumulative = [0.0]
        for h in hours:
            cumulative.append(cumulative[-1] + h / total)
        cumulative[-1] = 1.0
        out.append(cumulative)
    return tuple(out)


def _interpolate(cumulative: list[float], hour: float) -> float:
    i = min(int(hour), 23)
    return cumulative[i] + (cumulative[i + 1] - cumulative[i]) * (hour - i)


def _prefix(values: Sequence[float]) -> list[float]:
    out = [0.0]
    for v in values:
        out.append(out[-1] + v)
    return out


@cache
def profile(category: Category, channel: str) -> Profile:
    """The (lazily built, then shared) profile of a category and channel."""
    return Profile(category, channel)


class Register:
    """The clean register of one meter: what it shows at any time from its installation on."""

    __slots__ = ("_base", "_mult", "_noise", "_profile", "_trend", "installed", "mean", "meter")

    def __init__(self, meter: Meter, category: Category, seed: int) -> None:
        rng = stream(seed, "register", meter.id)
        self.meter = meter
        self.mean = meter.daily
        self.installed = day_start((meter.installed_on - date(1970, 1, 1)).days)
        self._trend = rng.uniform(-0.02, 0.02)  # per year, so that 同比 comparisons move
        self._noise = key(seed, "register-noise", meter.id)
        self._profile = profile(category, _channel(meter))
        self._mult = meter.multiplier
        # New meters leave the factory with a few units on the register.
        self._base = rng.uniform(0, 50) - self.consumption(self.installed) / self._mult

    def consumption(self, t: float) -> float:
        """Consumption in the meter's unit from an arbitrary origin to epoch time `t`."""
        day = local_day(t)
        base, per_day, rest, eta = self._day(day)
        variant = self._profile.variants[rest][int(eta * 8191) % _VARIANTS]
        return base + per_day * _interpolate(variant, (t - day_start(day)) / 3600)

    def value(self, t: float) -> float:
        """The register (consumption / multiplier) at epoch time `t`; meaningful from installation on."""
        return self._base + self.consumption(t) / self._mult

    def day_values(self, day: int, offsets: tuple[float, ...]) -> list[float]:
        """Register values at the given hours (0 <= h < 24) of a local day: the fast path for history."""
        base, per_day, rest, eta = self._day(day)
        sampled = self._profile.sampled(offsets)[rest][int(eta * 8191) % _VARIANTS]
        base = self._base + base / self._mult
        per_day /= self._mult
        return [base + per_day * f for f in sampled]

    def _day(self, day: int) -> tuple[float, float, int, float]:
        """Consumption before the day, during it, whether it is a rest day, and its noise draw."""
        p = self._profile
        i = day - _DAY0
        if i < 0 or i + 1 >= len(p.shape):
            raise ValueError(f"the simulated calendar runs {FIRST_DAY} to {LAST_DAY}")
        g = self._trend
        u0 = p.shape[i] * (1 + g * p.years[i])
        u1 = p.shape[i + 1] * (1 + g * p.years[i + 1])
        e0 = unit(self._noise, day)
        e1 = unit(self._noise, day + 1)
        before = self.mean * (p.prefix[i] + g * p.prefix_years[i] + _NOISE * e0 * u0)
        during = self.mean * ((1 - _NOISE * e0) * u0 + _NOISE * e1 * u1)
        return before, during, p.rest[i], e0


def registers(city: City, seed: int) -> list[Register]:
    """The register model of every meter of the city, in the city's order."""
    categories = {i.id: i.category for i in city.institutions}
    return [Register(m, categories[m.institution_id], seed) for m in city.meters]


def sample_times(day: int, interval: float) -> tuple[float, ...]:
    """Hours of the local day at which epoch-aligned readings every `interval` seconds fall."""
    start = day_start(day)
    first = math.ceil(start / interval) * interval
    n = max(0, math.ceil((start + DAY - first) / interval))
    return tuple((first + j * interval - start) / 3600 for j in range(n))


def readings(city: City, seed: int, start: datetime, end: datetime, interval: float = 900.0) -> Iterator[Reading]:
    """Every meter's clean reading (received as it is read) at each multiple of `interval` seconds in [start, end),
    in time order.

    Args:
        city: whose meters.
        seed: the simulation seed (the same seed gives the same registers).
        start: first instant (timezone-aware).
        end: instant after the last one.
        interval: seconds between readings; a divisor of a day keeps all meters on the same clock.

    A meter reports nothing before its installation day.
    """
    models = registers(city, seed)
    t0, t1 = start.timestamp(), end.timestamp()
    for day in range(local_day(t0), local_day(t1) + 1):
        offsets = sample_times(day, interval)
        origin = day_start(day)
        times = [origin + h * 3600 for h in offsets]
        wanted = [j for j, t in enumerate(times) if t0 <= t < t1]
        if not wanted:
            continue
        columns = [(m.meter.id, m.installed, m.day_values(day, offsets)) for m in models]
        for j in wanted:
            t = times[j]
            stamp = datetime.fromtimestamp(t, UTC)
            for meter_id, installed, values in columns:
                if t >= installed:
                    yield Reading(meter_id, stamp, values[j], stamp)  # a meter sends what it reads at once
