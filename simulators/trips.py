"""One drive along the streets: its route and a speed profile that accelerates, slows for turns, stops at red lights."""

from __future__ import annotations

import itertools
import math
import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from simulators.streets import Streets

ACCELERATION = 1.4  # m/s2, a calm driver of an official car
DECELERATION = 2.0  # m/s2
MIN_CRUISE = 20 / 3.6
MAX_CRUISE = 60 / 3.6
_TURN_SPEED = (14 / 3.6, 20 / 3.6)
_TURN_ANGLE = 25.0  # degrees of heading change that count as a turn
_RED_CHANCE = (0.08, 0.45)  # at an unsignalised / a signalised intersection (two arterials meet)
_RED_WAIT = (8.0, 55.0)  # s


@dataclass(frozen=True, slots=True)
class Trip:
    """A route (vertices, cumulative metres, bearing per edge) and motion phases of constant acceleration.

    Phase i starts `t[i]` seconds after departure at distance `s[i]` with speed `v[i]` (m/s) and keeps
    acceleration `a[i]` until the next phase; the last phase is the arrival, at rest.
    """

    lat: tuple[float, ...]
    lon: tuple[float, ...]
    cum: tuple[float, ...]
    bearings: tuple[float, ...]
    t: tuple[float, ...]
    s: tuple[float, ...]
    v: tuple[float, ...]
    a: tuple[float, ...]

    @property
    def duration(self) -> float:
        return self.t[-1]

    @property
    def length(self) -> float:
        """Metres driven."""
        return self.cum[-1]

    def at(self, elapsed: float) -> tuple[float, float, float, float, float]:
        """Latitude, longitude, speed (m/s), heading (degrees) and distance driven (m) after `elapsed` s."""
        i = bisect_right(self.t, elapsed) - 1
        if i < 0:
            i, elapsed = 0, 0.0
        tau = elapsed - self.t[i]
        v0, a = self.v[i], self.a[i]
        if i == len(self.t) - 1:
            tau, a = 0.0, 0.0
        speed = max(0.0, v0 + a * tau)
        s = min(self.cum[-1], self.s[i] + v0 * tau + 0.5 * a * tau * tau)
        # bisect_left: standing exactly at an intersection, still face the street we came along.
        j = min(max(bisect_left(self.cum, s) - 1, 0), len(self.bearings) - 1)
        span = self.cum[j + 1] - self.cum[j]
        f = (s - self.cum[j]) / span if span > 0 else 0.0
        lat = self.lat[j] + (self.lat[j + 1] - self.lat[j]) * f
        lon = self.lon[j] + (self.lon[j + 1] - self.lon[j]) * f
        return lat, lon, speed, self.bearings[j], s


def plan_trip(streets: Streets, path: list[int], rng: random.Random, pace: float) -> Trip:
    """The trip along a path of intersections.

    Args:
        streets: the grid the path runs on.
        path: intersections from origin to destination (at least two).
        rng: draws the red lights, their waits and the turn speeds.
        pace: factor on the streets' free-flow speeds (driver and traffic), clamped to 20-60 km/h.
    """
    lat = [streets.position(n)[0] for n in path]
    lon = [streets.position(n)[1] for n in path]
    lengths: list[float] = []
    cruise: list[float] = []
    bearings: list[float] = []
    for here, there in itertools.pairwise(path):
        link = next(link for link in streets.links[here] if link.to == there)
        lengths.append(link.length)
        cruise.append(min(MAX_CRUISE, max(MIN_CRUISE, link.speed * pace)))
        bearings.append(link.bearing)
    edges = len(lengths)
    cum = [0.0]
    for length in lengths:
        cum.append(cum[-1] + length)

    limit, wait = _intersections(streets, path, lengths=lengths, cruise=cruise, bearings=bearings, rng=rng)
    ts: list[float] = []
    ss: list[float] = []
    vs: list[float] = []
    accs: list[float] = []
    t = s = 0.0

    def phase(duration: float, v0: float, acc: float, distance: float) -> None:
        nonlocal t, s
        if duration > 1e-9:
            ts.append(t)
            ss.append(s)
            vs.append(v0)
            accs.append(acc)
            t += duration
            s += distance

    a, b = ACCELERATION, DECELERATION
    for j in range(edges):
        length, v0, v1 = lengths[j], limit[j], limit[j + 1]
        peak = math.sqrt((2 * a * b * length + b * v0 * v0 + a * v1 * v1) / (a + b))
        peak = max(v0, v1, min(max(cruise[j], v0, v1), peak))
        up = (peak * peak - v0 * v0) / (2 * a)
        down = (peak * peak - v1 * v1) / (2 * b)
        flat = max(0.0, length - up - down)
        phase((peak - v0) / a, v0, a, up)
        phase(flat / peak if peak > 0 else 0.0, peak, 0.0, flat)
        phase((peak - v1) / b, peak, -b, down)
        s = cum[j + 1]  # absorb rounding so every edge ends where the next begins
        phase(wait[j + 1], 0.0, 0.0, 0.0)
    ts.append(t)
    ss.append(s)
    vs.append(0.0)
    accs.append(0.0)
    return Trip(tuple(lat), tuple(lon), tuple(cum), tuple(bearings), tuple(ts), tuple(ss), tuple(vs), tuple(accs))


def _intersections(
    streets: Streets,
    path: list[int],
    *,
    lengths: list[float],
    cruise: list[float],
    bearings: list[float],
    rng: random.Random,
) -> tuple[list[float], list[float]]:
    """Speed allowed at each intersection (stopped at both ends, slow through turns, zero at a red
    light) and the wait there, made reachable with the car's acceleration and braking."""
    edges = len(lengths)
    limit = [0.0] * (edges + 1)
    wait = [0.0] * (edges + 1)
    for j in range(1, edges):
        turn = abs((bearings[j] - bearings[j - 1] + 180) % 360 - 180) > _TURN_ANGLE
        limit[j] = rng.uniform(*_TURN_SPEED) if turn else min(cruise[j - 1], cruise[j])
        signalised = len({link.street for link in streets.links[path[j]] if link.arterial}) >= 2
        if rng.random() < _RED_CHANCE[signalised]:
            limit[j] = 0.0
            wait[j] = rng.uniform(*_RED_WAIT)
    for j in range(1, edges + 1):  # cannot accelerate past what the block allows
        limit[j] = min(limit[j], math.sqrt(limit[j - 1] ** 2 + 2 * ACCELERATION * lengths[j - 1]))
    for j in range(edges - 1, -1, -1):  # must be able to brake in time
        limit[j] = min(limit[j], math.sqrt(limit[j + 1] ** 2 + 2 * DECELERATION * lengths[j]))
    return limit, wait
