"""The geofence report's figures: a vehicle's entries into, exits from and time inside an area over a period, from
its stored positions, judged as supervision judges them (domain/supervision.py: the area's shape, and the hours it
applies in; an area that does not apply at a fix counts as not entered).

Rules, on the fixes in time order:
- a fix is inside when the area applies at its time and contains it;
- an entry is a fix inside after one not inside; an exit a fix not inside after one inside. The first fix of the
  period has no fix before it: inside, it is `inside_at_start`, not an entry;
- time inside is the time from each fix inside to the next fix, unless they are more than `max_gap_seconds` apart
  (a terminal silent that long says nothing of where the vehicle was: no time is counted across the gap, and an
  entry or exit across it is counted all the same, since the vehicle was seen on both sides). The last fix inside
  counts nothing after it: the period's data ends there.

An area whose bounding box misses the track's has no fix inside: `near` leaves it out before any fix is judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.supervision import Area, Rules


@dataclass(frozen=True, slots=True)
class Visits:
    entries: int
    exits: int
    seconds_inside: float
    inside_at_start: bool
    fixes_inside: int


def near(areas: Sequence[Area], bbox: tuple[float, float, float, float]) -> list[Area]:
    """The areas whose bounding box meets `bbox` (west, south, east, north: a track's), the only ones it can enter."""
    west, south, east, north = bbox
    return [a for a in areas if a.bbox[0] <= east and west <= a.bbox[2] and a.bbox[1] <= north and south <= a.bbox[3]]


def visits(
    times: Sequence[datetime],
    points: Sequence[tuple[float, float]],
    area: Area,
    rules: Rules,
    *,
    max_gap_seconds: float,
) -> Visits:
    """The visits of one vehicle to one area: `times` in order, `points` (latitude, longitude) one per time."""
    entries = exits = fixes_inside = 0
    seconds = 0.0
    start_inside = False
    previous: tuple[datetime, bool] | None = None
    for at, (latitude, longitude) in zip(times, points, strict=True):
        inside = rules.applies(area, at) and area.contains(longitude, latitude)
        fixes_inside += inside
        if previous is None:
            start_inside = inside
        else:
            before, was_inside = previous
            gap = (at - before).total_seconds()
            if was_inside and gap <= max_gap_seconds:
                seconds += gap
            entries += inside and not was_inside
            exits += was_inside and not inside
        previous = (at, inside)
    return Visits(entries, exits, seconds, start_inside, fixes_inside)
