"""The energy events' pure rules: a silent meter (a meter never read is not silent), a run of nights with water
flow, a night base load, and when each has ended."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.anomalies import Hours, Load, night_run
from domain.energy_events import (
    MeterSeen,
    QuotaFigure,
    night_cleared,
    night_events,
    quota_cleared,
    quota_event,
    silence_ended,
    silent_meters,
)

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def test_a_meter_silent_longer_than_allowed_is_an_event_and_a_meter_never_read_is_not() -> None:
    meters = [
        MeterSeen("m-quiet", "inst", NOW - timedelta(hours=30)),
        MeterSeen("m-recent", "inst", NOW - timedelta(hours=23)),
        MeterSeen("m-never", "inst", None),  # missing is not zero: not "silent since the epoch"
    ]
    [event] = silent_meters(meters, NOW, 86_400)
    assert (event.kind, event.meter_id, event.level, event.time) == (
        "meter_silent", "m-quiet", "yellow", NOW - timedelta(hours=30),
    )  # fmt: skip
    assert "no reading for 30.0 h" in event.detail
    assert "24.0 h allowed" in event.detail


def test_a_silence_ends_with_a_newer_reading_only() -> None:
    raised_on = NOW - timedelta(hours=30)
    assert silence_ended(raised_on, None) is None
    assert silence_ended(raised_on, raised_on) is None
    assert silence_ended(raised_on, NOW) == f"reported again at {NOW.isoformat()}"


def flows(first: date, values: list[str]) -> list[tuple[date, Decimal]]:
    return [(first + timedelta(days=n), Decimal(v)) for n, v in enumerate(values)]


def test_a_run_of_nights_with_water_flow_ending_with_the_last_night_is_a_leak() -> None:
    first = date(2026, 11, 30)
    end = date(2026, 12, 7)  # the last whole night judged is 6 December's
    hours = Hours(names={"inst": "机关"})
    hours.nights[("inst", "m-w")] = flows(first, ["0", "0", "0.2", "0.2", "0.3", "0.2", "0.1"])
    [event] = night_events(hours, start=first, end=end, night_ratio=Decimal("0.5"), leak_nights=3, zone=ZONE)
    assert (event.kind, event.meter_id, event.time) == (
        "night_water_flow", "m-w", datetime(2026, 12, 2, tzinfo=ZONE),  # the run's first night
    )  # fmt: skip
    assert "5 nights in a row (2026-12-02 to 2026-12-06)" in event.detail
    assert "0.200 m³/h on average" in event.detail
    # Fewer nights than a leak needs, or a run that ended before the last night: nothing.
    assert night_events(hours, start=first, end=end, night_ratio=Decimal("0.5"), leak_nights=6, zone=ZONE) == []
    hours.nights[("inst", "m-w")] = flows(first, ["0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0"])
    assert night_events(hours, start=first, end=end, night_ratio=Decimal("0.5"), leak_nights=3, zone=ZONE) == []
    assert night_run(hours.nights[("inst", "m-w")]) == []


def test_a_leak_ends_with_a_later_night_without_flow_and_not_with_no_data() -> None:
    raised = datetime(2026, 12, 2, tzinfo=ZONE)
    hours = Hours()
    kwargs = {"start": date(2026, 11, 30), "end": date(2026, 12, 8), "night_ratio": Decimal("0.5"), "zone": ZONE}
    assert night_cleared("night_water_flow", raised, ("inst", "m-w"), hours, **kwargs) is None  # type: ignore[arg-type]
    hours.nights[("inst", "m-w")] = flows(date(2026, 12, 2), ["0.2", "0.2", "0.2", "0.2", "0.2", "0"])
    reason = night_cleared("night_water_flow", raised, ("inst", "m-w"), hours, **kwargs)  # type: ignore[arg-type]
    assert reason == "the night of 2026-12-07 had no flow (01-05 h)"


def office_day(load: Load, day: date, night: str) -> None:
    hours = [Decimal(night)] * 6 + [Decimal(20)] * 3 + [Decimal(100)] * 8 + [Decimal(20)] * 7
    load.add(day, hours, workday=True)


def test_a_night_base_load_is_an_event_and_ends_when_a_later_window_measures_it_under_the_share() -> None:
    start, end = date(2026, 11, 30), date(2026, 12, 7)
    hours = Hours(names={"inst": "机关"})
    for n in range(7):
        office_day(hours.loads["inst"], start + timedelta(days=n), "60")
    [event] = night_events(hours, start=start, end=end, night_ratio=Decimal("0.5"), leak_nights=3, zone=ZONE)
    assert (event.kind, event.institution_id, event.meter_id, event.time) == (
        "night_base_load", "inst", None, datetime(2026, 11, 30, tzinfo=ZONE),
    )  # fmt: skip
    assert (
        "night load (00-06 h) 60% of the working-hours load over 7 days from 2026-11-30 to 2026-12-06" in event.detail
    )
    # The same window does not clear it; a later one under the share does; one with no working hours measures nothing.
    kwargs = {"end": end, "night_ratio": Decimal("0.5"), "zone": ZONE}
    assert night_cleared("night_base_load", event.time, ("inst", None), hours, start=start, **kwargs) is None  # type: ignore[arg-type]
    later = Hours()
    for n in range(1, 8):
        office_day(later.loads["inst"], start + timedelta(days=n), "10")
    reason = night_cleared(
        "night_base_load", event.time, ("inst", None), later, start=start + timedelta(days=1), **kwargs
    )  # type: ignore[arg-type]
    assert reason is not None
    assert reason.startswith("night load 10% of the working-hours load")
    empty = Hours()
    empty.loads["inst"].add(start + timedelta(days=1), [Decimal(0)] * 24, workday=False)
    assert (
        night_cleared("night_base_load", event.time, ("inst", None), empty, start=start + timedelta(days=1), **kwargs)
        is None
    )  # type: ignore[arg-type]


def test_a_quota_is_near_yellow_over_red_and_no_figure_is_never_under_quota() -> None:
    start, end = date(2026, 1, 1), date(2026, 3, 1)

    def figure(value: str | None, status: str | None) -> QuotaFigure:
        return QuotaFigure("energy_per_area", None if value is None else Decimal(value), Decimal(10), status)  # type: ignore[arg-type]

    near = quota_event("inst", [figure("9.5", "near")], start=start, end=end, zone=ZONE)
    assert near is not None
    # Timed by the last day judged: found again after it cleared, it is a new alert, not a duplicate of the first.
    assert (near.kind, near.level, near.time) == ("quota_near", "yellow", datetime(2026, 2, 28, tzinfo=ZONE))
    assert "energy_per_area 9.5 kgce/m² is 95% of the quota for those days (10 kgce/m²" in near.detail
    over = quota_event("inst", [figure("9.5", "near"), figure("12", "over")], start=start, end=end, zone=ZONE)
    assert over is not None
    assert over.level == "red"
    # Missing is not zero: no figure raises nothing, and clears nothing.
    assert quota_event("inst", [figure(None, None)], start=start, end=end, zone=ZONE) is None
    assert quota_cleared("yellow", [figure(None, None)]) is None
    # A red one lasts while over, a yellow one while near or over; no quota at all ends it.
    assert quota_cleared("red", [figure("9.5", "near")]) is not None
    assert quota_cleared("yellow", [figure("9.5", "near")]) is None
    assert quota_cleared("yellow", [figure("5", "ok")]) == (
        "now energy_per_area 5 kgce/m² is 50% of the quota for those days (10 kgce/m², the year's pro rata): within "
        "its quota, 50% of the year's quota at this pace"
    )
    assert quota_cleared("yellow", []) == "no quota applies any more"
