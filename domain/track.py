"""A vehicle's track fit to show and measure: filtered as Traccar's `filter.*` settings do, simplified, stops found.

Rules of `clean`, applied in this order (each dropped fix gets one `DropReason`):

1. Order: fixes are sorted by fix time, then receipt time, then position, so the order they came in never
   changes the result. Blind-zone uploads arrive late and out of order; that is normal, not an error.
2. `invalid`: latitude outside -90..90, longitude outside -180..180, or either not a finite number.
3. `zero`: latitude and longitude both exactly 0, what terminals send without a GNSS fix.
4. `future`: fix time more than `TrackRules.future_tolerance` after the server received it: a terminal
   clock gone wrong, not a position we can place in time.
5. `duplicate`: the same fix time as the previous fix that passed 2-4. The one received first stays;
   a blind-zone resend of a live report is the usual cause. Repeated positions at different times are
   NOT duplicates: a parked vehicle's reports are what tell how long it stood (`stops`, trips); thinning
   a track for display is `simplify`'s job.
6. `speed_jump`: reaching the fix from the last kept fix would need more than `TrackRules.max_speed_kmh`.
   The spike is dropped and the track continues from the last kept fix. The first fix has no past to
   judge it by, so it is kept only if at least half of the next five fixes are reachable from it: a
   spike in first place, or a burst of two or three that agree with each other, is dropped instead of
   the whole track after it.

`simplify` is Ramer-Douglas-Peucker on a local equirectangular projection, iterative so that long tracks
cannot exhaust the stack; it keeps the first and last fix and every fix that starts or ends a stop.

`stops` finds where a vehicle stayed within `stop_radius_m` of where it halted for at least
`min_stop_seconds`, silent periods included (a parked terminal often sleeps).

Distances are great-circle (haversine) metres (domain/geo.py); coordinates are WGS-84 as received.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from domain.geo import EARTH_RADIUS_M, Sphere, half_angles, plane
from domain.position import Position

_FIRST_FIX_LOOKAHEAD = 5  # outvotes a burst of up to three spikes that agree with each other
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """A timezone-aware time as whole microseconds since the Unix epoch: `Columns`' times."""
    return (at - _EPOCH) // _MICROSECOND


class Columns(NamedTuple):
    """One vehicle's positions as arrays, one entry per fix: how a track read for the map is judged and written (a
    day is 8,640 fixes; a `Position` each would cost more than the rest of the request). Times are exact: whole
    microseconds."""

    vehicle_id: str
    time: np.ndarray  # int64 microseconds since the Unix epoch: `Position.time`
    latitude: np.ndarray  # float64
    longitude: np.ndarray
    speed: np.ndarray  # float64, NaN where none (as the other figures a terminal may not report)
    heading: np.ndarray  # float64, NaN where none
    odometer: np.ndarray  # float64, NaN where none
    ignition: np.ndarray  # float64: 1 on, 0 off, NaN where none
    received_at: np.ndarray  # int64 microseconds since the Unix epoch
    blind: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def of(cls, vehicle_id: str, fixes: Sequence[Position]) -> Columns:
        return cls(
            vehicle_id,
            np.array([micros(f.time) for f in fixes], dtype=np.int64),
            np.array([f.latitude for f in fixes], dtype=np.float64),
            np.array([f.longitude for f in fixes], dtype=np.float64),
            # A figure the terminal did not report is NaN (an ignition's True and False become 1 and 0).
            np.array([math.nan if f.speed is None else f.speed for f in fixes], dtype=np.float64),
            np.array([math.nan if f.heading is None else f.heading for f in fixes], dtype=np.float64),
            np.array([math.nan if f.odometer is None else f.odometer for f in fixes], dtype=np.float64),
            np.array([math.nan if f.ignition is None else f.ignition for f in fixes], dtype=np.float64),
            np.array([micros(f.received_at) for f in fixes], dtype=np.int64),
            np.array([f.blind for f in fixes], dtype=np.bool_),
        )

    def fixes(self) -> list[Position]:
        def times(column: np.ndarray) -> list[datetime]:
            return [_EPOCH + timedelta(microseconds=m) for m in column.tolist()]

        def known(column: np.ndarray) -> list[float | None]:
            return [None if math.isnan(v) else v for v in column.tolist()]

        ignitions = [None if math.isnan(v) else v == 1 for v in self.ignition.tolist()]
        vehicle_id = self.vehicle_id
        return [
            Position(vehicle_id, *row)
            for row in zip(
                times(self.time), times(self.received_at), self.latitude.tolist(), self.longitude.tolist(),
                known(self.speed), known(self.heading), ignitions, known(self.odometer), self.blind.tolist(),
                strict=True,
            )
        ]  # fmt: skip

    def take(self, which: np.ndarray | slice) -> Columns:
        """The fixes at these positions (indices, a mask or a slice), in that order."""
        return Columns(self.vehicle_id, *(column[which] for column in self[1:]))


@dataclass(frozen=True, slots=True)
class TrackRules:
    """Thresholds of cleaning and stop finding; the settings layer fills them, defaults follow Traccar."""

    future_tolerance: timedelta = timedelta(days=1)  # Traccar filter.future
    max_speed_kmh: float = 250.0  # above any official car on any road, below what GNSS spikes imply
    stop_radius_m: float = 50.0  # the distance the deployed platforms treat as "the vehicle moved"
    min_stop_seconds: float = 180.0  # a traffic light or a queue is not a stop


class DropReason(StrEnum):
    """Why a fix was left out of a track; the value is what the API reports."""

    INVALID = "invalid"
    ZERO = "zero"
    FUTURE = "future"
    DUPLICATE = "duplicate"
    SPEED_JUMP = "speed_jump"


@dataclass(frozen=True, slots=True)
class Dropped:
    fix: Position
    reason: DropReason


@dataclass(slots=True)
class Cleaned:
    """The fixes kept and the ones dropped with why, both in time order, and the metres along the kept ones
    (`geo.path_m(kept)`, summed while judging them)."""

    kept: list[Position] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    distance_m: float = 0.0

    def reasons(self) -> dict[DropReason, int]:
        """How many fixes each rule dropped; rules that dropped nothing are absent."""
        counts: dict[DropReason, int] = {}
        for d in self.dropped:
            counts[d.reason] = counts.get(d.reason, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class Stop:
    """A stay: from the first to the last fix within the radius, at the mean of their positions."""

    start: datetime
    end: datetime
    latitude: float
    longitude: float


def clean(fixes: Sequence[Position], rules: TrackRules) -> Cleaned:
    """Sort a track by fix time and drop the fixes the module's rules refuse.

    Args:
        fixes: one vehicle's fixes, in any order.
        rules: the thresholds.
    """
    fast = _clean_as_is(fixes, rules)
    if fast is not None:
        return fast
    result = Cleaned()
    candidates: list[Position] = []
    # Position breaks the last ties so that the result never depends on the order the fixes came in.
    for fix in sorted(fixes, key=lambda f: (f.time, f.received_at, f.latitude, f.longitude)):
        reason = _refused(fix, rules)
        if reason is None and candidates and candidates[-1].time == fix.time:
            reason = DropReason.DUPLICATE
        if reason is None:
            candidates.append(fix)
        else:
            result.dropped.append(Dropped(fix, reason))

    # Each candidate is judged from the last kept fix: great-circle metres against the speed limit times the
    # seconds between them. In radians and seconds computed once per fix, since this runs for every fix of every
    # track asked for.
    sphere = Sphere(candidates)
    arc = sphere.half_angle
    seconds = [f.time.timestamp() for f in candidates]
    limit = rules.max_speed_kmh / 3.6 / (2 * EARTH_RADIUS_M)  # radians of half an arc per second

    last = -1  # the last kept candidate
    total = 0.0
    for i, fix in enumerate(candidates):
        if last >= 0:
            half = arc(last, i)
            plausible = half <= limit * abs(seconds[i] - seconds[last])  # never 0 seconds: equal times are duplicates
        else:
            ahead = range(i + 1, min(i + 1 + _FIRST_FIX_LOOKAHEAD, len(candidates)))
            plausible = 2 * sum(arc(i, j) <= limit * abs(seconds[j] - seconds[i]) for j in ahead) >= len(ahead)
            half = 0.0
        if plausible:
            result.kept.append(fix)
            total += half
            last = i
        else:
            result.dropped.append(Dropped(fix, DropReason.SPEED_JUMP))
    result.distance_m = 2 * EARTH_RADIUS_M * total
    result.dropped.sort(key=lambda d: d.fix.time)
    return result


def _clean_as_is(fixes: Sequence[Position], rules: TrackRules) -> Cleaned | None:
    """`_as_is` for a list of fixes: their Cleaned, or None: judge them one by one."""
    if len(fixes) < 2:
        return None
    columns = np.array([(f.time.timestamp(), f.latitude, f.longitude, f.received_at.timestamp()) for f in fixes])
    seconds, lat, lon, received = columns.T
    distance = _as_is(seconds, lat, lon, received, rules)
    return None if distance is None else Cleaned(list(fixes), [], distance)


def _as_is(
    seconds: np.ndarray, lat: np.ndarray, lon: np.ndarray, received: np.ndarray, rules: TrackRules
) -> float | None:
    """The usual track, judged in arrays at once: in strict time order, every fix valid, none from the future,
    each reachable from the one before. Then every rule keeps every fix (reachability from each fix to the next
    implies it to any later one, by the triangle inequality, so the first fix's look ahead holds too), and the
    result is what the rules give one fix at a time: the metres along the fixes. None: some rule may drop a fix."""
    gaps = np.diff(seconds)
    with np.errstate(invalid="ignore"):  # NaN compares false: such a fix goes the slow way and is dropped there
        valid = (np.abs(lat) <= 90) & (np.abs(lon) <= 180) & ((lat != 0) | (lon != 0))
        in_time = seconds - received <= rules.future_tolerance.total_seconds()
        if not (np.all(gaps > 0) and np.all(valid) and np.all(in_time)):
            return None
    halves = half_angles(lat, lon)
    if not np.all(halves <= rules.max_speed_kmh / 3.6 / (2 * EARTH_RADIUS_M) * gaps):
        return None
    return 2 * EARTH_RADIUS_M * float(halves.sum())


@dataclass(frozen=True, slots=True)
class CleanedColumns:
    """`Cleaned` for a track in arrays: the fixes kept, how many each rule dropped, the metres along the kept."""

    kept: Columns
    reasons: dict[DropReason, int]
    distance_m: float


def clean_columns(track: Columns, rules: TrackRules) -> CleanedColumns:
    """`clean` for a track in arrays, with the same result: the usual track is judged in arrays; one where some rule
    may drop a fix goes through `clean` fix by fix."""
    if len(track) >= 2:
        distance = _as_is(track.time / 1e6, track.latitude, track.longitude, track.received_at / 1e6, rules)
        if distance is not None:
            return CleanedColumns(track, {}, distance)
    cleaned = clean(track.fixes(), rules)
    return CleanedColumns(Columns.of(track.vehicle_id, cleaned.kept), cleaned.reasons(), cleaned.distance_m)


def _refused(fix: Position, rules: TrackRules) -> DropReason | None:
    lat, lon = fix.latitude, fix.longitude
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return DropReason.INVALID
    if lat == 0 and lon == 0:
        return DropReason.ZERO
    if fix.time - fix.received_at > rules.future_tolerance:
        return DropReason.FUTURE
    return None


def stops(fixes: Sequence[Position], rules: TrackRules) -> list[Stop]:
    """`stops_in` for a list of one vehicle's fixes."""
    return stops_in(Columns.of(fixes[0].vehicle_id if fixes else "", fixes), rules)


def stops_in(track: Columns, rules: TrackRules) -> list[Stop]:
    """Where the vehicle stayed within `rules.stop_radius_m` for at least `rules.min_stop_seconds`.

    A stay is measured from the fix where the vehicle halted, so slow GNSS drift while parked cannot
    walk it away; a drift beyond the radius splits a stay in two.

    Args:
        track: a cleaned track in time order (`clean_columns(...).kept`).
        rules: the radius and minimal duration.
    """
    found: list[Stop] = []
    n = len(track)
    if n == 0:
        return found
    # Within a stop radius, metres on the local plane equal great-circle metres to a few parts per million, and
    # cost a fraction: each fix is compared with every later one within the radius of it.
    east, north = plane(track.latitude, track.longitude)
    radius2 = rules.stop_radius_m**2
    # A stay can begin only where the next fix is within the radius: on a drive, that is at few fixes.
    begins = np.flatnonzero(np.diff(east) ** 2 + np.diff(north) ** 2 <= radius2).tolist()
    xs, ys, micros = east.tolist(), north.tolist(), track.time.tolist()
    least = rules.min_stop_seconds * 1e6
    resume = 0
    for i in begins:
        if i < resume:
            continue
        ax, ay = xs[i], ys[i]
        j = i + 1
        while j + 1 < n and (xs[j + 1] - ax) ** 2 + (ys[j + 1] - ay) ** 2 <= radius2:
            j += 1
        if micros[j] - micros[i] >= least:
            found.append(
                Stop(
                    _EPOCH + timedelta(microseconds=micros[i]),
                    _EPOCH + timedelta(microseconds=micros[j]),
                    float(track.latitude[i : j + 1].mean()),
                    float(track.longitude[i : j + 1].mean()),
                )
            )
            resume = j + 1
    return found


def simplify(fixes: Sequence[Position], tolerance_m: float, stops: Sequence[Stop] = ()) -> list[Position]:
    """Ramer-Douglas-Peucker: the fewest fixes that keep every dropped one within `tolerance_m` of the line.

    Args:
        fixes: a cleaned track in time order (`clean(...).kept`).
        tolerance_m: how far, in metres, the simplified line may pass from a dropped fix.
        stops: stays found on this track; the fixes that start or end one are kept, so the simplified
            track still shows when the vehicle halted and left.
    """
    n = len(fixes)
    if n <= 2:
        return list(fixes)
    # A few per cent of error at most: far below what a display tolerance notices.
    east, north = plane(np.array([f.latitude for f in fixes]), np.array([f.longitude for f in fixes]))
    xs, ys = east.tolist(), north.tolist()

    boundaries = {s.start for s in stops} | {s.end for s in stops}
    keep = [i == 0 or i == n - 1 or f.time in boundaries for i, f in enumerate(fixes)]
    anchors = [i for i in range(n) if keep[i]]
    pending = list(itertools.pairwise(anchors))
    while pending:
        first, last = pending.pop()
        farthest = _farthest(xs, ys, first, last, tolerance_m)
        if farthest is not None:
            keep[farthest] = True
            pending.extend(((first, farthest), (farthest, last)))
    return [f for f, kept in zip(fixes, keep, strict=True) if kept]


def _farthest(xs: list[float], ys: list[float], first: int, last: int, tolerance_m: float) -> int | None:
    """The point between `first` and `last` farthest from the segment joining them, if beyond the tolerance."""
    # To the segment, not the infinite line: a track that turns back on itself keeps its far end.
    # Inlined and squared: this loop is where 100k-point tracks spend their time.
    ax, ay = xs[first], ys[first]
    dx, dy = xs[last] - ax, ys[last] - ay
    length2 = dx * dx + dy * dy
    farthest, worst = None, tolerance_m * tolerance_m
    for k in range(first + 1, last):
        px, py = xs[k] - ax, ys[k] - ay
        t = min(1.0, max(0.0, (px * dx + py * dy) / length2)) if length2 else 0.0
        d2 = (px - t * dx) ** 2 + (py - t * dy) ** 2
        if d2 > worst:
            farthest, worst = k, d2
    return farthest
