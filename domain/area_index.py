"""The areas indexed for judging fixes fast: by unit, and on a coarse grid of their bounding boxes.

A city has hundreds of areas (each unit's and the city's) and its vehicles send thousands of fixes a second. Judged
plainly (domain/supervision.py `areas_at`), each fix asks every area whether it applies to the vehicle's unit, then
each timed area's calendar, then whether it contains the fix: bench/supervision's profile put that at 60% of the
supervisor's time with 500 areas. The index is built once whenever the areas are read, and answers the same
(`AreaIndex.at` equals `areas_at` of the unit's and the city's areas; a property test holds it to that):
- a grid of cells over the areas' extent, each listing by unit (and the city's) the areas whose bounding box meets
  it: a fix tries only the city's and its unit's areas of its cell, and of them only those whose box holds it;
- each calendar is asked once per fix, however many areas name it;
- per unit, the hours of its permitted and parking areas, so that "does any apply" is a calendar's answer or two.

An area whose box covers more than `_MOST_CELLS` cells (a whole district among car parks) is not listed in each: it
is tried at every fix, by its box first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Final

from domain.supervision import Area, AreaHours, AreaKind, AreasAt, Rules, applies_when

# Cells a side at most: the grid's memory stays small whatever the extent (a province's areas included).
_MOST_CELLS_A_SIDE: Final = 512
# Cells an area is listed in at most (32 by 32: eight times the median area's box a side); a wider one is tried at
# every fix, by its box first, rather than listed in thousands of cells.
_MOST_CELLS: Final = 1024
# An area and its place in the order of the areas given (the order `areas_at` keeps).
_Placed = tuple[int, Area]
# Areas by owner: None the city's, else a unit's; each in the areas' order.
_Owned = dict[str | None, tuple[_Placed, ...]]
_NONE: Final[tuple[_Placed, ...]] = ()
_NOBODY: Final[_Owned] = {}
# When an area applies: its hours and its calendar (None: the default); "always" with no calendar.
_When = tuple[AreaHours, int | None]


class AreaIndex:
    """The areas for judging fixes: `at` gives what `areas_at` gives of the areas that apply to a unit."""

    __slots__ = ("_cells", "_city_hours", "_east", "_hours", "_north", "_size", "_south", "_west", "_wide")

    def __init__(self, areas: Sequence[Area]) -> None:
        """Index these areas (as db.alerts.all_areas reads them: in id order, which `at` keeps)."""
        self._hours = _hours_by_unit(areas)
        self._city_hours = self._hours.get(None, {})
        self._cells: dict[tuple[int, int], _Owned] = {}
        self._wide: _Owned = {}
        if not areas:
            self._west = self._south = math.inf
            self._east = self._north = -math.inf
            self._size = 1.0
            return
        self._west = min(a.bbox[0] for a in areas)
        self._south = min(a.bbox[1] for a in areas)
        self._east = max(a.bbox[2] for a in areas)
        self._north = max(a.bbox[3] for a in areas)
        self._size = _cell_size(areas, self._east - self._west, self._north - self._south)
        listed: dict[tuple[int, int], dict[str | None, list[_Placed]]] = {}
        wide: dict[str | None, list[_Placed]] = {}
        for placed in enumerate(areas):
            area = placed[1]
            west, south, east, north = area.bbox
            x0, x1 = self._cell(west, self._west), self._cell(east, self._west)
            y0, y1 = self._cell(south, self._south), self._cell(north, self._south)
            if (x1 - x0 + 1) * (y1 - y0 + 1) > _MOST_CELLS:
                wide.setdefault(area.organisation_id, []).append(placed)
                continue
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    listed.setdefault((x, y), {}).setdefault(area.organisation_id, []).append(placed)
        self._cells = {cell: {owner: tuple(p) for owner, p in owned.items()} for cell, owned in listed.items()}
        self._wide = {owner: tuple(p) for owner, p in wide.items()}

    def _cell(self, coordinate: float, origin: float) -> int:
        # Monotonic in the coordinate (IEEE subtraction and division round monotonically): a point within an area's
        # box falls in a cell between those of the box's corners, so the area is listed there.
        return math.floor((coordinate - origin) / self._size)

    def at(
        self, organisation: str | None, longitude: float, latitude: float, moment: datetime, rules: Rules
    ) -> AreasAt:
        """The areas of the unit `organisation` (and the city's) as they stand at this point and moment."""
        applies = _memo(rules, moment)
        containing: list[_Placed] = []
        if self._west <= longitude <= self._east and self._south <= latitude <= self._north:
            cell = (self._cell(longitude, self._west), self._cell(latitude, self._south))
            owners = (None,) if organisation is None else (None, organisation)
            for owned in (self._cells.get(cell, _NOBODY), self._wide):
                for owner in owners:
                    for placed in owned.get(owner, _NONE):
                        a = placed[1]
                        west, south, east, north = a.bbox
                        if (
                            west <= longitude <= east
                            and south <= latitude <= north
                            and applies(a.hours, a.calendar_id)
                            and a.contains(longitude, latitude)
                        ):
                            containing.append(placed)
            if len(containing) > 1:
                containing.sort(key=_place)  # the city's and the unit's, in the areas' order
        hours = self._hours.get(organisation, self._city_hours)
        return AreasAt(
            containing=tuple(a for _, a in containing),
            permitted=any(applies(h, c) for h, c in hours.get("permitted", ())),
            parking=any(applies(h, c) for h, c in hours.get("parking", ())),
        )


def _place(placed: _Placed) -> int:
    return placed[0]


def _memo(rules: Rules, moment: datetime) -> Callable[[AreaHours, int | None], bool]:
    """Whether an area of these hours and calendar applies at `moment`: each calendar asked once."""
    local = moment.astimezone(rules.zone)
    working: dict[int | None, bool] = {}

    def applies(hours: AreaHours, calendar_id: int | None) -> bool:
        if hours == "always":
            return True
        known = working.get(calendar_id)
        if known is None:
            known = working[calendar_id] = rules.calendar_of(calendar_id).working(local)
        return applies_when(hours, known)

    return applies


def _hours_by_unit(areas: Iterable[Area]) -> dict[str | None, dict[AreaKind, tuple[_When, ...]]]:
    """For each unit with areas of its own (and None, the city), the distinct hours of the areas that apply to it, by
    kind: "does a permitted area apply now" asks each once."""
    own: dict[str | None, dict[AreaKind, set[_When]]] = {None: {}}
    for a in areas:
        when: _When = ("always", None) if a.hours == "always" else (a.hours, a.calendar_id)
        own.setdefault(a.organisation_id, {}).setdefault(a.kind, set()).add(when)
    city = own[None]
    out: dict[str | None, dict[AreaKind, tuple[_When, ...]]] = {}
    for unit, kinds in own.items():
        merged = {k: city.get(k, set()) | kinds.get(k, set()) for k in {*city, *kinds}}
        # "always" first: the answer needs no calendar then.
        out[unit] = {k: tuple(sorted(whens, key=lambda w: (w[0] != "always", str(w)))) for k, whens in merged.items()}
    return out


def _cell_size(areas: Sequence[Area], width: float, height: float) -> float:
    """Degrees a cell's side: a quarter of the median area's box, no finer than `_MOST_CELLS_A_SIDE` cells over the
    extent. bench/supervision's city (500 areas): about 9 areas a cell, against 16 with cells of the median box and
    8 with an eighth of it (for four times the cells)."""
    sides = sorted(max(a.bbox[2] - a.bbox[0], a.bbox[3] - a.bbox[1]) for a in areas)
    median = sides[len(sides) // 2]
    coarsest = max(width, height) / _MOST_CELLS_A_SIDE
    return max(median / 4, coarsest, 1e-9)
