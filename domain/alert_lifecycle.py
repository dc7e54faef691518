"""The alert lifecycle (ThingsBoard's alarms as the model): an alert's state, and when its cause has ended.

An alert's severity is its `level` (yellow, red: domain/supervision.py). Acknowledged (a person saw it) and cleared
(its cause ended, decided from data) are independent facts, so the state says both, as ThingsBoard's statuses do:
`active_unack`, `active_ack`, `cleared_unack`, `cleared_ack`; `closed` (a person closed it) ends the alert whatever
the others say.

Which alerts clear by themselves, judged on the vehicle's newest fix (newer than the alert's own):
- `silent`: the terminal reported again.
- `area_exit`: the newest position is inside a permitted area that applies to the vehicle (its unit's or the city's).
- `parking`: the newest position is inside a designated parking area that applies to it.
- `speeding`: the newest fix reports a speed at or under the limit where it is: the area's limit inside one with a
  limit, the global limit elsewhere (domain/supervision.py's `speed_limit`).
- `area_entry`: the newest position is outside every forbidden area that applies to it.
An area applies as supervision says (`Rules.applies`): to the vehicle's unit or the whole city, and only in its
calendar's hours at the newest fix's time; one that does not apply then is as if absent.
The others are acts that happened (driving off hours or without a dispatch, a terminal's alarm): no later fix undoes
them, so they stay active until a person closes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, get_args

from domain.supervision import AlertKind, Area, Rules, speed_limit

AlertState = Literal["active_unack", "active_ack", "cleared_unack", "cleared_ack", "closed"]
ALERT_STATES: Final[tuple[AlertState, ...]] = get_args(AlertState)
# The kinds whose cause a later fix can end (the others are closed by people).
CLEARABLE: Final[frozenset[AlertKind]] = frozenset({"silent", "area_exit", "parking", "speeding", "area_entry"})


def state_of(*, acknowledged: bool, cleared: bool, closed: bool) -> AlertState:
    """The one word for an alert's lifecycle."""
    if closed:
        return "closed"
    return f"{'cleared' if cleared else 'active'}_{'ack' if acknowledged else 'unack'}"  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Newest:
    """A vehicle's newest fix, as the live map keeps it."""

    time: datetime
    latitude: float
    longitude: float
    speed: float | None


def cause_ended(  # noqa: PLR0917 (the alert's three facts, the fix, the areas, the rules)
    kind: str,
    alert_time: datetime,
    organisation_id: str,
    newest: Newest | None,
    areas: Sequence[Area],
    rules: Rules,
) -> str | None:
    """Why an active alert of this kind, raised at the fix time `alert_time` for a vehicle of `organisation_id`, is
    cleared by the vehicle's newest fix; None while its cause lasts (or it is not of a kind that clears). `rules`:
    the global speed limit and the calendars that say when an area applies, as the supervisor has them."""
    if newest is None or newest.time <= alert_time or kind not in CLEARABLE:
        return None
    applicable = [
        a
        for a in areas
        if (a.organisation_id is None or a.organisation_id == organisation_id) and rules.applies(a, newest.time)
    ]
    at = newest.time.isoformat()
    if kind == "silent":
        return f"reported again at {at}"
    if kind in ("area_exit", "parking"):
        wanted = "permitted" if kind == "area_exit" else "parking"
        inside = any(a.kind == wanted and a.contains(newest.longitude, newest.latitude) for a in applicable)
        return f"inside a {wanted} area at {at}" if inside else None
    if kind == "area_entry":
        inside = any(a.kind == "forbidden" and a.contains(newest.longitude, newest.latitude) for a in applicable)
        return None if inside else f"outside every forbidden area at {at}"
    if newest.speed is None:
        return None
    limit, area = speed_limit(applicable, newest.longitude, newest.latitude, rules.speed_limit_kmh)
    where = "" if area is None else f" in area {area}"
    return f"at {newest.speed:g} km/h{where} at {at}" if newest.speed <= limit else None
