"""Supervision rules on hand-made fixes: what raises an alert, what does not, and what raises it only once."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import WorkCalendar
from domain.position import Position
from domain.supervision import Area, Rules, Watch
from tests.support.tracks import wander

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 3, 3, tzinfo=SHANGHAI)
RULES = Rules(
    zone=SHANGHAI,
    calendar=WorkCalendar(holidays=frozenset({date(2026, 3, 4)}), extra_workdays=frozenset({date(2026, 3, 7)})),
)
# The city: a box of about 20 km around Jingdezhen; a car park inside it.
CITY = Area.from_geojson(
    1, "permitted", None,
    {"type": "Polygon", "coordinates": [[[117.1, 29.2], [117.3, 29.2], [117.3, 29.4], [117.1, 29.4], [117.1, 29.2]]]},
)  # fmt: skip
CAR_PARK = Area.from_geojson(
    2, "parking", None,
    {"type": "Polygon",
     "coordinates": [[[117.20, 29.30], [117.201, 29.30], [117.201, 29.301], [117.20, 29.301], [117.20, 29.30]]]},
)  # fmt: skip


def fix(
    at: datetime, *, lat: float = 29.3005, lon: float = 117.2005, speed: float = 40.0, ignition: bool = True
) -> Position:
    return Position("v1", at, at, lat, lon, speed, 0.0, ignition)


def drive(watch: Watch, start: datetime, *, dispatched: bool = False, minutes: int = 10) -> list[str]:
    """A drive east from the car park, a fix a minute, ~670 m a minute; the kinds of alert raised, in order."""
    kinds = []
    for m in range(minutes + 1):
        f = fix(start + timedelta(minutes=m), lon=117.2005 + m * 0.007)
        kinds += [a.kind for a in watch.judge(f, dispatched=dispatched, areas=[CITY, CAR_PARK], rules=RULES)]
    return kinds


def test_a_2am_drive_without_a_dispatch_raises_off_hours_and_no_dispatch_once_each() -> None:
    kinds = drive(Watch(), TUESDAY + timedelta(hours=2), minutes=9)
    assert kinds == ["off_hours", "no_dispatch"]  # each again no sooner than 10 minutes later
    assert drive(Watch(), TUESDAY + timedelta(hours=2), minutes=10).count("off_hours") == 2
    assert "area_exit" not in kinds


def test_a_drive_under_a_dispatch_raises_nothing_day_or_night() -> None:
    assert drive(Watch(), TUESDAY + timedelta(hours=2), dispatched=True) == []
    assert drive(Watch(), TUESDAY + timedelta(hours=10), dispatched=True) == []


def test_working_hours_follow_the_holiday_calendar() -> None:
    assert RULES.working(TUESDAY + timedelta(hours=10))
    assert not RULES.working(TUESDAY + timedelta(days=1, hours=10))  # a holiday
    assert not RULES.working(TUESDAY + timedelta(days=5, hours=10))  # Sunday
    assert RULES.working(TUESDAY + timedelta(days=4, hours=10))  # a Saturday worked in exchange (调休)
    assert not RULES.working(TUESDAY + timedelta(hours=18))


def test_a_drive_out_of_the_city_raises_area_exit_on_the_crossing_only() -> None:
    watch = Watch()
    # 10:00 on a workday, dispatched: only leaving the permitted area counts. 0.007 degrees a minute east
    # from 117.2005 crosses 117.3 in the 15th minute.
    kinds = drive(watch, TUESDAY + timedelta(hours=10), dispatched=True, minutes=25)
    assert kinds == ["area_exit"]
    # Coming back and leaving again is a new crossing.
    back = watch.judge(fix(TUESDAY + timedelta(hours=11)), dispatched=True, areas=[CITY], rules=RULES)
    assert back == []
    again = watch.judge(fix(TUESDAY + timedelta(hours=12), lon=117.35), dispatched=True, areas=[CITY], rules=RULES)
    assert [a.kind for a in again] == ["area_exit"]


def test_speeding_is_yellow_over_the_limit_and_red_20_over() -> None:
    watch = Watch()
    at = TUESDAY + timedelta(hours=10)
    yellow = watch.judge(fix(at, speed=125), dispatched=True, areas=[], rules=RULES)
    assert [(a.kind, a.level) for a in yellow] == [("speeding", "yellow")]
    red = Watch().judge(fix(at, speed=150), dispatched=True, areas=[], rules=RULES)
    assert [(a.kind, a.level) for a in red] == [("speeding", "red")]


def test_parking_outside_designated_places_at_night_is_raised_once_per_rest() -> None:
    watch = Watch()
    night = TUESDAY + timedelta(hours=22)
    areas = [CAR_PARK]
    moving = fix(night, lon=117.25)
    watch.judge(moving, dispatched=True, areas=areas, rules=RULES)
    rest = [fix(night + timedelta(minutes=m), lon=117.25, speed=0, ignition=False) for m in (1, 2, 3)]
    kinds = [a.kind for f in rest for a in watch.judge(f, dispatched=True, areas=areas, rules=RULES)]
    assert kinds == ["parking"]
    in_the_car_park = Watch()
    in_the_car_park.judge(fix(night), dispatched=True, areas=areas, rules=RULES)
    parked = fix(night + timedelta(minutes=1), speed=0, ignition=False)
    assert in_the_car_park.judge(parked, dispatched=True, areas=areas, rules=RULES) == []


def test_a_late_resend_is_judged_for_hours_but_does_not_move_the_vehicle_back() -> None:
    watch = Watch()
    now = TUESDAY + timedelta(hours=10)
    watch.judge(fix(now, lon=117.25), dispatched=True, areas=[CITY], rules=RULES)
    late = fix(TUESDAY + timedelta(hours=2), lon=117.35)  # outside the city, at 2 a.m., sent late
    kinds = [a.kind for a in watch.judge(late, dispatched=False, areas=[CITY], rules=RULES)]
    assert kinds == ["off_hours"]
    assert watch.newest == now
    assert watch.outside is False


def test_a_terminal_silent_with_the_ignition_on_is_raised_once() -> None:
    watch = Watch()
    at = TUESDAY + timedelta(hours=10)
    watch.judge(fix(at), dispatched=True, areas=[], rules=RULES)
    assert watch.silent("v1", at + timedelta(seconds=200), RULES) is None
    alert = watch.silent("v1", at + timedelta(seconds=400), RULES)
    assert alert is not None
    assert (alert.kind, alert.latitude) == ("silent", 29.3005)
    assert watch.silent("v1", at + timedelta(seconds=900), RULES) is None


@pytest.mark.parametrize("ignition", [False, None])
def test_a_parked_terminal_that_goes_silent_is_raised_too_later_whatever_its_ignition(ignition: bool | None) -> None:
    # A terminal removed from a parked car, or one that reports no ignition at all, must still be watched: after
    # `silent_seconds` (an hour by default, above a sleeping terminal's report interval) rather than 5 minutes.
    at = TUESDAY + timedelta(hours=22)
    parked = Watch()
    parked.judge(fix(at, speed=0, ignition=False)._replace(ignition=ignition), dispatched=True, areas=[], rules=RULES)
    assert parked.silent("v1", at + timedelta(minutes=30), RULES) is None
    alert = parked.silent("v1", at + timedelta(hours=5), RULES)
    assert alert is not None
    assert (alert.kind, alert.time) == ("silent", at)
    assert parked.silent("v1", at + timedelta(hours=6), RULES) is None


def test_an_ignition_not_reported_while_driving_is_watched_as_in_use() -> None:
    at = TUESDAY + timedelta(hours=10)
    watch = Watch()
    for m in range(3):
        f = fix(at + timedelta(minutes=m), lon=117.2005 + m * 0.007)._replace(ignition=None)
        watch.judge(f, dispatched=True, areas=[], rules=RULES)
    alert = watch.silent("v1", at + timedelta(minutes=2, seconds=400), RULES)
    assert alert is not None
    assert alert.detail.endswith("with no ignition reported")


def stream() -> list[Position]:
    """Two hours of one vehicle at night: parked, a drive out of the city speeding with the emergency button held a
    while, a stop outside the car park, a drive back; a fix a minute."""
    start = TUESDAY + timedelta(hours=1)
    out: list[Position] = []
    for m in range(120):
        at = start + timedelta(minutes=m)
        if m < 10:
            f = fix(at, speed=0, ignition=False)
        elif m < 50:
            f = fix(at, lon=117.2005 + (m - 10) * 0.004, speed=130 if 20 <= m < 40 else 60)
            if 25 <= m < 30:
                f = f._replace(alarm=1)
        elif m < 70:
            f = fix(at, lon=117.2005 + 40 * 0.004, speed=0, ignition=False)
        else:
            f = fix(at, lon=117.2005 + (120 - m) * 0.0032, speed=50)
        out.append(f._replace(alarm=f.alarm if f.alarm is not None else 0))
    return out


def judged(fixes: list[Position], watch: Watch) -> list[tuple[str, datetime]]:
    return [(a.kind, a.time) for f in fixes for a in watch.judge(f, dispatched=False, areas=[CITY, CAR_PARK],
                                                                 rules=RULES)]  # fmt: skip


@pytest.mark.parametrize("cut", [5, 15, 22, 27, 45, 55, 60, 75, 119])
def test_a_watch_restored_from_its_state_judges_the_rest_as_if_never_stopped(cut: int) -> None:
    fixes = stream()
    whole = judged(fixes, Watch())
    assert {kind for kind, _ in whole} >= {"off_hours", "no_dispatch", "speeding", "area_exit", "emergency", "parking"}
    first = Watch()
    before = judged(fixes[:cut], first)
    state = json.loads(json.dumps(first.state()))  # as the database keeps it
    after = judged(fixes[cut:], Watch.restored(state, RULES))
    assert before + after == whole
    # Forgetting (what a restart did before the state was kept) repeats or misses some.
    assert cut == 5 or before + judged(fixes[cut:], Watch()) != whole  # at 5 it was parked: nothing to forget


def test_a_polygon_with_a_hole() -> None:
    ring = [[117.0, 29.0], [118.0, 29.0], [118.0, 30.0], [117.0, 30.0], [117.0, 29.0]]
    hole = [[117.4, 29.4], [117.6, 29.4], [117.6, 29.6], [117.4, 29.6], [117.4, 29.4]]
    area = Area.from_geojson(3, "permitted", None, {"type": "Polygon", "coordinates": [ring, hole]})
    assert area.contains(117.2, 29.2)
    assert not area.contains(117.5, 29.5)
    assert not area.contains(118.5, 29.5)


def test_a_terminal_of_time_and_coordinates_only_is_judged_by_its_motion() -> None:
    # No speed, no ignition: the 2 am drive is still in use outside working hours (670 m a minute, 40 km/h from the
    # displacement), nothing is speeding, and neither parking nor silence is judged without an ignition.
    watch = Watch()
    start = TUESDAY + timedelta(hours=2)
    kinds = []
    for m in range(10):
        f = fix(start + timedelta(minutes=m), lon=117.2005 + m * 0.007)._replace(
            speed=None, heading=None, ignition=None
        )
        kinds += [a.kind for a in watch.judge(f, dispatched=False, areas=[CITY, CAR_PARK], rules=RULES)]
    assert kinds == ["off_hours", "no_dispatch"]
    still = fix(start + timedelta(minutes=30), lon=117.2005 + 9 * 0.007)._replace(speed=None, ignition=None)
    assert watch.judge(still, dispatched=False, areas=[CITY, CAR_PARK], rules=RULES) == []
    assert watch.silent("v1", start + timedelta(hours=1), RULES) is None


@pytest.mark.parametrize(("every", "metres", "tau"), [(1, 5, 30), (5, 20, 120), (10, 20, 120)])
def test_a_parked_vehicle_without_speed_raises_nothing_at_night_as_its_fixes_wander(
    every: int, metres: float, tau: float
) -> None:
    # Parked in the car park from 1 am to 3 am, time and coordinates only, GNSS wander of `metres`: between fixes
    # it reads as 5-40 km/h, but the vehicle never leaves where it stands, so it is not in use outside working hours.
    watch = Watch()
    start = TUESDAY + timedelta(hours=1)
    kinds = []
    for i, (north, east) in enumerate(wander(16, 2 * 3600 // every, every=every, metres=metres, tau=tau)):
        f = fix(start + timedelta(seconds=i * every), lat=29.3005 + north / 111_195, lon=117.2005 + east / 96_900)
        f = f._replace(speed=None, heading=None, ignition=None)
        kinds += [a.kind for a in watch.judge(f, dispatched=False, areas=[CITY, CAR_PARK], rules=RULES)]
    assert kinds == []


def test_a_silence_counts_from_no_earlier_than_the_supervisors_start() -> None:
    # Restored after a night down: the vehicle's reports of the night are still queued at the broker, so the quiet
    # is counted from the restart, not from the last report read.
    at = TUESDAY + timedelta(hours=10)
    watch = Watch()
    watch.judge(fix(at), dispatched=True, areas=[], rules=RULES)
    restarted = at + timedelta(hours=8)
    assert watch.silent("v1", restarted + timedelta(seconds=60), RULES, since=restarted) is None
    assert watch.silent("v1", restarted + timedelta(seconds=400), RULES, since=restarted) is not None
