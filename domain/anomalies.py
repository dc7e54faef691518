"""Energy anomalies from the roll-up's local hours: the one rule the anomaly report (api/energy/anomalies.py) and the
energy watch (notifier/energy_watch.py) judge by.

- night base load: an institution's mean electricity per hour at night (00:00-06:00) against its mean per working
  hour (09:00-17:00 of workdays); offices that switch off at night stay well under half;
- weekend load: mean electricity per daytime hour (09:00-17:00) of the days that are not workdays against working
  hours (a holiday's daytime load is weekend load, a make-up Saturday's is working-hours load: `workday` is the
  working calendar's, domain/calendar.py, the one supervision uses);
- night water flow (a leak): a water meter whose smallest hourly flow between 01:00 and 05:00 stayed above zero on
  each of the last nights, for at least `leak_nights` nights in a row.

Only days read at least hourly count (`HOURLY` readings a day): a register read once a day is shared evenly over the
hours, which would look like a flat load and a leak.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from domain.measures import to_report_unit

AnomalyKind = Literal["night_base_load", "weekend_load", "night_water_flow"]
LoadKind = Literal["night_base_load", "weekend_load"]
HOURLY: Final = 24  # readings a day from which hours are measured, not shared out
_NIGHT = range(0, 6)
_WORK = range(9, 17)
_LEAK_HOURS = range(1, 5)
_RATIO = Decimal("0.01")
_FLOW = Decimal("0.001")

# A day of a meter as the roll-up has it: (institution_id, institution name, meter_id, energy_type, unit, day,
# hours in the meter's unit).
HourlyDay = tuple[str, str, str, str, str, date, list[Decimal]]


@dataclass(slots=True)
class Load:
    """An institution's electricity by the hours that matter, summed over days."""

    night: Decimal = Decimal(0)
    night_hours: int = 0
    work: Decimal = Decimal(0)
    work_hours: int = 0
    weekend: Decimal = Decimal(0)
    weekend_hours: int = 0
    days: set[date] = field(default_factory=set)

    def add(self, day: date, hours: list[Decimal], *, workday: bool) -> None:
        self.days.add(day)
        for hour, value in enumerate(hours):
            if hour in _NIGHT:
                self.night += value
                self.night_hours += 1
            elif hour in _WORK and workday:
                self.work += value
                self.work_hours += 1
            elif hour in _WORK:
                self.weekend += value
                self.weekend_hours += 1

    def measured(self) -> dict[LoadKind, Decimal]:
        """Each load that can be measured, as a share of the load per working hour; none without working hours that
        used anything (missing is not zero: no ratio, never 0)."""
        if not self.work_hours or not self.work:
            return {}
        per_work_hour = self.work / self.work_hours
        out: dict[LoadKind, Decimal] = {}
        for kind, total, count in (
            ("night_base_load", self.night, self.night_hours),
            ("weekend_load", self.weekend, self.weekend_hours),
        ):
            if count:
                out[kind] = (total / count / per_work_hour).quantize(_RATIO)  # type: ignore[index]
        return out

    def ratios(self, night: Decimal, weekend: Decimal) -> list[tuple[LoadKind, Decimal, Decimal]]:
        """The loads at or above their thresholds: (kind, ratio, threshold)."""
        thresholds: dict[LoadKind, Decimal] = {"night_base_load": night, "weekend_load": weekend}
        return [(kind, ratio, thresholds[kind]) for kind, ratio in self.measured().items() if ratio >= thresholds[kind]]


@dataclass(slots=True)
class Hours:
    """What the hourly days of a period say: institutions' names and loads, and each water meter's smallest night
    flow per night (m³/h), in day order."""

    names: dict[str, str] = field(default_factory=dict)
    loads: dict[str, Load] = field(default_factory=lambda: defaultdict(Load))
    nights: dict[tuple[str, str], list[tuple[date, Decimal]]] = field(default_factory=lambda: defaultdict(list))


def gather(rows: Iterable[HourlyDay], workday: Callable[[date], bool]) -> Hours:
    """Sort hourly days (in meter and day order) into loads and night flows, in report units."""
    out = Hours()
    for institution_id, name, meter_id, energy_type, unit, day, hours in rows:
        out.names[institution_id] = name
        scale = to_report_unit(energy_type, unit)
        if energy_type == "water":
            if len(hours) > max(_LEAK_HOURS):
                out.nights[(institution_id, meter_id)].append((day, min(hours[h] for h in _LEAK_HOURS) * scale))
        else:
            out.loads[institution_id].add(day, [h * scale for h in hours], workday=workday(day))
    return out


def night_run(series: list[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    """The consecutive nights, ending with the last night, whose smallest flow never reached zero (empty when the
    last night's did, or the last night is not the one after the one before)."""
    run: list[tuple[date, Decimal]] = []
    previous: date | None = None
    for day, smallest in series:
        if smallest <= 0 or (previous is not None and (day - previous).days != 1):
            run = []
        if smallest > 0:
            run.append((day, smallest))
        previous = day
    return run


def mean_flow(run: list[tuple[date, Decimal]]) -> Decimal:
    """The mean smallest night flow of a run, m³/h."""
    return (sum((flow for _, flow in run), Decimal(0)) / len(run)).quantize(_FLOW)
