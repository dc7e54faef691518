"""Whether a vehicle moves, fix by fix, where its terminal reports no speed or a standstill its fixes belie.

Trips (domain/trips.py) and supervision (domain/supervision.py) both judge motion this way, one fix at a time in
time order, so that both see the same vehicle park and drive.

Rules of `Motion.judge`:

1. A reported speed of at least `moving_kmh` is believed: the vehicle moves. Its place of rest (the anchor) is
   forgotten; the next fix that does not report moving is the new anchor.
2. Otherwise (no speed, or a speed under `moving_kmh`) the vehicle is at rest while its fixes stay within
   `stop_radius_m` of the anchor, the first fix of the rest. A reported speed (0 from a terminal that measures
   none, or a crawl) is believed while at rest.
3. A fix beyond `stop_radius_m` from the anchor has left it. From then on, until the vehicle is at rest again, a
   fix moves when its displacement from an earlier fix is at least `moving_kmh` over `window_seconds` or more: the
   earlier fix is the newest one at least `window_seconds` older, or the last fix at rest while none is that old
   (then the displacement must be at least `moving_kmh` x `window_seconds`, 83 m by default). Its speed is the
   displacement's. A fix that does not move has its reported speed, or none (0).
4. Away from the anchor, a fix that does not move, `min_stop_seconds` after the vehicle last moved (or left the
   anchor without moving), is at rest again: that fix is the new anchor. Not moving by rule 3 for that long keeps
   the vehicle within a few tens of metres; a radius around a single noisy fix would not be reached reliably.
5. The first fix, and a fix after a gap of more than `max_gap_seconds`, has no past to measure from: it is at rest
   where it is (unless it reports moving, rule 1).

Why an anchor and a window, not the displacement between consecutive fixes: GNSS positions of a parked vehicle
wander by 5-20 m, correlated over tens of seconds. Between fixes 1-10 s apart that wander reads as 5-40 km/h, so
a parked vehicle made kilometres of trips and raised alarms at night. Wander seldom leaves the stop radius, and
over a minute it covers far less than `moving_kmh` does; a drive leaves the radius within seconds and keeps going.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from domain.geo import distance_m
from domain.position import Position


@dataclass(frozen=True, slots=True)
class MotionRules:
    """Thresholds of motion; trips and supervision fill them from the same settings."""

    moving_kmh: float = 5.0  # below it a reported speed is mostly GNSS noise of a standing vehicle
    stop_radius_m: float = 50.0  # as TrackRules': the distance the deployed platforms treat as "the vehicle moved"
    min_stop_seconds: float = 180.0  # as TrackRules': a traffic light or a queue is not a stop
    max_gap_seconds: float = 3600.0  # as TripRules': after a longer silence nothing is measured from before it
    window_seconds: float = 60.0  # away from the anchor, speed is measured over at least this long (rule 3)


class Judged(NamedTuple):
    speed: float  # km/h, as the rules read it
    moving: bool
    derived: bool  # the speed or the motion came from the fixes, not from the terminal
    since: datetime | None = None  # moving by rule 3: the time of the fix the displacement was measured from


class _Point(NamedTuple):
    time: datetime
    latitude: float
    longitude: float


@dataclass(slots=True)
class Motion:
    """What is remembered of one vehicle's motion; feed it the vehicle's fixes in time order."""

    rules: MotionRules
    anchor: _Point | None = None  # the first fix of the current rest; None: away, or nothing known yet
    last_rest: _Point | None = None  # the newest fix at rest at the anchor
    previous: datetime | None = None
    away: deque[_Point] = field(default_factory=deque)  # since leaving the anchor: the window's fixes (rule 3)
    halt: _Point | None = None  # away: where it last moved, or first stood (rule 4)

    def judge(self, fix: Position) -> Judged:
        """This fix's speed and motion by the module's rules; updates what is remembered."""
        rules = self.rules
        here = _Point(fix.time, fix.latitude, fix.longitude)
        reported = fix.speed
        gap = self.previous is None or (fix.time - self.previous).total_seconds() > rules.max_gap_seconds
        self.previous = fix.time
        if reported is not None and reported >= rules.moving_kmh:
            self._forget()
            return Judged(reported, True, False)
        standing = Judged(0.0 if reported is None else reported, False, reported is None)
        if gap:
            self._forget()
        if self.anchor is None and not self.away:
            self._rest(here, anchor=True)
            return standing
        if self.anchor is not None:
            if _metres(self.anchor, here) <= rules.stop_radius_m:
                self._rest(here)
                return standing
            self.away.append(self.last_rest or self.anchor)  # rule 3: it left from its last fix at rest
            self.anchor = None
        while len(self.away) > 1 and (fix.time - self.away[1].time).total_seconds() >= rules.window_seconds:
            self.away.popleft()
        since = self.away[0]
        seconds = (fix.time - since.time).total_seconds()
        metres = _metres(since, here)
        self.away.append(here)
        if seconds > 0 and metres / max(seconds, rules.window_seconds) * 3.6 >= rules.moving_kmh:
            self.halt = here
            return Judged(metres / seconds * 3.6, True, True, since.time)
        if self.halt is None:
            self.halt = here
        elif (fix.time - self.halt.time).total_seconds() >= rules.min_stop_seconds:
            self._forget()
            self._rest(here, anchor=True)
            return standing
        return standing

    def settled_at(self, fix: Position) -> bool:
        """Whether, after judging `fix`, what is remembered is what a first judgement of `fix` alone leaves:
        reading the fixes again from it judges the ones after it the same."""
        return (
            self.anchor is not None
            and self.last_rest is not None
            and (self.anchor.latitude, self.anchor.longitude) == (fix.latitude, fix.longitude)
            and self.last_rest.time == fix.time
        )

    def _rest(self, point: _Point, *, anchor: bool = False) -> None:
        if anchor:
            self.anchor = point
        self.last_rest = point

    def _forget(self) -> None:
        self.anchor = self.last_rest = self.halt = None
        self.away.clear()


def _metres(a: _Point, b: _Point) -> float:
    return distance_m(a.latitude, a.longitude, b.latitude, b.longitude)


def motion_state(motion: Motion) -> dict[str, object]:
    """What a Motion remembers, as JSON-ready data (times ISO 8601): the supervisor keeps it across restarts."""

    def point(p: _Point | None) -> list[object] | None:
        return None if p is None else [p.time.isoformat(), p.latitude, p.longitude]

    return {
        "anchor": point(motion.anchor),
        "last_rest": point(motion.last_rest),
        "previous": None if motion.previous is None else motion.previous.isoformat(),
        "away": [point(p) for p in motion.away],
        "halt": point(motion.halt),
    }


def restored_motion(rules: MotionRules, state: dict[str, Any]) -> Motion:
    """A Motion with what `motion_state` kept."""

    def point(raw: list[Any] | None) -> _Point | None:
        if raw is None:
            return None
        return _Point(datetime.fromisoformat(str(raw[0])), float(raw[1]), float(raw[2]))

    previous = state.get("previous")
    away = state.get("away") or []
    return Motion(
        rules,
        anchor=point(state.get("anchor")),
        last_rest=point(state.get("last_rest")),
        previous=None if previous is None else datetime.fromisoformat(str(previous)),
        away=deque(p for raw in away for p in [point(raw)] if p is not None),
        halt=point(state.get("halt")),
    )
