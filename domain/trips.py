"""Trips from a cleaned track, as Traccar's `report.trip.*` settings make them.

Rules of `trips`:

1. A trip starts at a moving fix (speed at least `TripRules.moving_kmh`) after a stop, a gap or the start
   of the data; with `use_ignition` (the default, JT/T 808 terminals report ACC) its ignition must not be off.
   Motion with the ignition off is not a trip: that is an illegal-displacement alarm's business.
2. It ends at the first fix of a standstill lasting at least `min_stop_seconds`: where and when the vehicle
   arrived. A shorter standstill (a traffic light, a gate) does not end it.
3. With `use_ignition`, the first fix with the ignition off also ends it, at once, that fix included. A fix
   without ignition (the terminal or source has none) neither starts nor ends a trip by it: the trip is
   bounded by motion and stops alone (rules 1, 2 and 4).
4. A gap without data longer than `max_gap_seconds` ends a trip at the last fix before the gap (or at the
   first fix of a standstill already begun). The trip is kept, not lost: terminals often fall silent before
   they report ignition off. The end of the data ends an open trip the same way.
5. It is a trip only if it lasts at least `min_trip_seconds` and covers at least `min_trip_distance_m`.
6. Distance comes from the odometer when the first and last fix both carry one and the difference is
   plausible: not negative, and within `odometer_tolerance` (a fraction) of the track distance, plus two
   odometer steps (0.2 km, the rounding of JT/T 808's 0.1 km at both ends). The odometer counts the road
   a sampled track cuts across, so it is preferred; a larger disagreement means a reset, a replaced
   terminal or a unit error, and the track distance is used. Track distance is the sum of great-circle
   distances between consecutive fixes of the trip.
7. `max_speed` is the highest speed of the trip's fixes, as rule 8 reads them.
8. Speed from motion. A fix's speed is the reported one, except where the terminal reports none, or where it
   reports less than `moving_kmh` while the fix is at least `contradicted_kmh` from the fix before it in the
   time between them: then it is that displacement's speed (great-circle metres over seconds). The first fix,
   and a fix after a gap of more than `max_gap_seconds`, has no displacement: without a speed it is standing.
   Why the second case: some terminals report speed 0 at every fix (a week of taxi fixes moved 441 km while
   every speed said 0, and showed no trip). A vehicle that stands does not cover `contradicted_kmh` (20 km/h:
   56 m in 10 s, beyond the stop radius of 50 m) between two fixes, while GNSS noise of a parked vehicle can
   cover `moving_kmh` (14 m in 10 s); a reported speed is trusted up to that margin.
9. `derived` names what of a trip came from motion rather than from the terminal: `speed` (some fix's speed by
   rule 8, so rules 1-2 and `max_speed` lean on it), `ignition` (with `use_ignition`, some fix had none, so
   the trip's bounds are those of motion) and `odometer` (the distance is the track's, rule 6).

Starting at the first moving fix leaves out the metres before it (one report interval of a departing car);
it keeps warm-up idling and parked reports, which may be far older, out of the trip's time. Where that fix's
speed is its displacement's (rule 8), the trip starts at the fix before it, where the displacement began: the
last fix of a stop, and then possibly the fix an earlier trip ended at.

`rest_points` are the fixes after which no trip is open: where a recount of a vehicle's trips may start again
(the mileage roll-up recounts from the last one before new fixes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from domain.geo import distance_m, path_m
from domain.position import Position

Derived = Literal["speed", "ignition", "odometer"]
DERIVED: Final[tuple[Derived, ...]] = get_args(Derived)

_ODOMETER_SLACK_KM = 0.2  # JT/T 808 sends the odometer in 0.1 km: each end may be rounded by one step


@dataclass(frozen=True, slots=True)
class TripRules:
    """Thresholds of trip detection; the settings layer fills them, defaults follow Traccar."""

    min_trip_distance_m: float = 200.0  # Traccar report.trip.minimalTripDistance
    min_trip_seconds: float = 180.0  # Traccar report.trip.minimalTripDuration
    max_gap_seconds: float = 3600.0  # Traccar report.trip.minimalNoDataDuration
    use_ignition: bool = True  # Traccar report.trip.useIgnition; JT/T 808 terminals report ACC
    moving_kmh: float = 5.0  # below it a reported speed is mostly GNSS noise of a standing vehicle
    min_stop_seconds: float = 180.0  # Traccar report.trip.minimalParkingDuration; as TrackRules'
    odometer_tolerance: float = 0.5  # the odometer may differ from the track by this fraction of it
    contradicted_kmh: float = 20.0  # a reported standstill while the fixes move this fast is not believed (rule 8)


@dataclass(frozen=True, slots=True)
class Trip:
    start_time: datetime
    end_time: datetime
    start_latitude: float
    start_longitude: float
    end_latitude: float
    end_longitude: float
    distance_km: float
    distance_source: Literal["odometer", "track"]
    max_speed: float  # km/h
    fix_count: int
    derived: tuple[Derived, ...] = ()  # what came from motion (rule 9), in DERIVED's order


def trips(fixes: Sequence[Position], rules: TripRules) -> list[Trip]:
    """The trips of one vehicle, in time order, by the module's rules.

    Args:
        fixes: a cleaned track (`track.clean(...).kept`); sorted here again, which costs little when it is.
        rules: the thresholds.
    """
    ordered = sorted(fixes, key=lambda f: f.time)
    speeds, derived = motion(ordered, rules)
    spans: list[tuple[int, int]] = []  # first and last index of each candidate trip
    start: int | None = None  # first fix of the open trip
    halt: int | None = None  # first standstill fix since the open trip's last moving one
    for i, fix in enumerate(ordered):
        if start is not None:
            gap = (fix.time - ordered[i - 1].time).total_seconds() > rules.max_gap_seconds
            parked = halt is not None and (fix.time - ordered[halt].time).total_seconds() >= rules.min_stop_seconds
            if gap or parked:
                spans.append((start, i - 1 if halt is None else halt))
                start = halt = None
        if rules.use_ignition and fix.ignition is False:
            if start is not None:
                spans.append((start, i))
                start = halt = None
        elif speeds[i] >= rules.moving_kmh:
            if start is None:
                # A displacement's speed is that of the interval from the fix before: the vehicle left from there.
                start = i - 1 if derived[i] and i > 0 else i
            halt = None
        elif start is not None and halt is None:
            halt = i
    if start is not None:
        spans.append((start, len(ordered) - 1 if halt is None else halt))
    return [
        trip
        for first, last in spans
        if (trip := _trip(ordered[first : last + 1], speeds[first : last + 1], derived[first : last + 1], rules))
        is not None
    ]


def motion(ordered: Sequence[Position], rules: TripRules) -> tuple[list[float], list[bool]]:
    """Each fix's speed as the rules read it (rule 8), km/h, and whether it came from the fixes' displacement.

    Args:
        ordered: fixes in time order.
        rules: `moving_kmh`, `contradicted_kmh` and `max_gap_seconds`.
    """
    speeds: list[float] = []
    derived: list[bool] = []
    previous: Position | None = None
    for fix in ordered:
        reported = fix.speed
        shifted: float | None = None  # km/h from the fix before, when there is one to measure from
        # Measured only where the reported speed may be set aside: a moving report is believed as it is.
        if previous is not None and (reported is None or reported < rules.moving_kmh):
            seconds = (fix.time - previous.time).total_seconds()
            if 0 < seconds <= rules.max_gap_seconds:
                metres = distance_m(previous.latitude, previous.longitude, fix.latitude, fix.longitude)
                shifted = metres / seconds * 3.6
        if reported is not None and (shifted is None or shifted < rules.contradicted_kmh):
            speeds.append(reported)
            derived.append(False)
        else:
            speeds.append(0.0 if shifted is None else shifted)
            derived.append(True)
        previous = fix
    return speeds, derived


def _trip(fixes: Sequence[Position], speeds: Sequence[float], derived: Sequence[bool], rules: TripRules) -> Trip | None:
    first, last = fixes[0], fixes[-1]
    if (last.time - first.time).total_seconds() < rules.min_trip_seconds:
        return None
    track_km = path_m(fixes) / 1000
    odometer_km = _odometer_km(first, last, track_km, rules)
    source: Literal["odometer", "track"] = "track" if odometer_km is None else "odometer"
    distance_km = track_km if odometer_km is None else odometer_km
    if distance_km * 1000 < rules.min_trip_distance_m:
        return None
    return Trip(
        start_time=first.time,
        end_time=last.time,
        start_latitude=first.latitude,
        start_longitude=first.longitude,
        end_latitude=last.latitude,
        end_longitude=last.longitude,
        distance_km=distance_km,
        distance_source=source,
        max_speed=max(speeds),
        fix_count=len(fixes),
        derived=tuple(
            d
            for d, yes in zip(
                DERIVED,
                (
                    any(derived),
                    rules.use_ignition and any(f.ignition is None for f in fixes),
                    source == "track",
                ),
                strict=True,
            )
            if yes
        ),
    )


def _odometer_km(first: Position, last: Position, track_km: float, rules: TripRules) -> float | None:
    if first.odometer is None or last.odometer is None:
        return None
    km = last.odometer - first.odometer
    if km < 0 or abs(km - track_km) > rules.odometer_tolerance * track_km + _ODOMETER_SLACK_KM:
        return None
    return km


def rest_points(kept: Sequence[Position], rules: TripRules) -> list[datetime]:
    """The times of the fixes of a cleaned track after which no trip is open, the track read with none open first.

    Reading the track again from such a fix, with no trip open, finds the same trips after it as reading it
    from its first fix. This follows the rules of `trips`: a trip opens at a moving fix (rule 1) and is over at an
    ignition-off fix (rule 3, with `use_ignition`), at a fix after a gap of more than `max_gap_seconds` (rule 4),
    or at a fix `min_stop_seconds` after the first fix of a standstill (rule 2); a fix that opens a trip, or comes
    while one may still go on, is no rest point.

    Args:
        kept: a cleaned track in time order (`track.clean(...).kept`).
        rules: the thresholds of `trips`.
    """
    speeds, _ = motion(kept, rules)
    found: list[datetime] = []
    open_trip = False
    halt: datetime | None = None  # first standstill fix since the open trip's last moving one
    previous: datetime | None = None
    for fix, speed in zip(kept, speeds, strict=True):
        if open_trip and previous is not None:
            gap = (fix.time - previous).total_seconds() > rules.max_gap_seconds
            parked = halt is not None and (fix.time - halt).total_seconds() >= rules.min_stop_seconds
            if gap or parked:
                open_trip, halt = False, None
        if rules.use_ignition and fix.ignition is False:
            open_trip, halt = False, None
        elif speed >= rules.moving_kmh:
            open_trip, halt = True, None
        elif open_trip and halt is None:
            halt = fix.time
        if not open_trip:
            found.append(fix.time)
        previous = fix.time
    return found
