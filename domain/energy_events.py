"""Energy events: alerts whose subject is an institution (and for a meter's event, its meter), raised by the
notifier's energy watch and carried through the same lifecycle and rules as vehicles' alerts
(docs/notifications.md "Energy events").

- `meter_silent` (yellow): a meter in service (installed, not replaced) with no reading for longer than the silence
  threshold (YIWANG_ENERGY_SILENT_SECONDS, the data-quality report's). A meter never read is not silent since the
  epoch: it raises nothing (missing is not zero). Cleared when it reports again.
- `night_water_flow` (yellow): a water meter whose smallest night flow stayed above zero for at least `leak_nights`
  nights in a row ending with the last whole night (domain/anomalies.py). Cleared by a later night whose smallest
  flow reached zero.
- `night_base_load` (yellow): an institution whose night load over the last whole days is at or above its share of
  the working-hours load (domain/anomalies.py). Cleared when a later window of days measures it under the share.
- `quota_near`: an assessed indicator of the year so far (1 January to yesterday) at or above the near share
  (YIWANG_ENERGY_QUOTA_NEAR) of its quota pro rata for those days, which is the same as: at this pace the year ends at
  that share of its quota or more (yellow); over its quota pro rata (red). The indicator report's quota status
  (api/energy/indicators.py), the institution's own quota before its category's. Cleared when no indicator is near
  (yellow) or over (red) any more, e.g. a raised quota; a yellow one turned red is cleared and raised again red.

An event's `time` is the start of what it judged (the silent meter's last reading, the first night of the run, the
first day of the window), so judging it again raises nothing new (db/migrations/0038_events_energy_alerts.sql); a
quota_near's is the local midnight of the last day judged (the day its level was found, in the year judged), so that
a level found again after it was cleared is a new alert, and the year it belongs to is the year of its `time`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal, get_args
from zoneinfo import ZoneInfo

from domain.anomalies import Hours, mean_flow, night_run
from domain.vocabulary import render

EnergyEventKind = Literal["quota_near", "night_base_load", "night_water_flow", "meter_silent"]
ENERGY_EVENT_KINDS: Final[tuple[EnergyEventKind, ...]] = get_args(EnergyEventKind)
# The kinds the notifier's energy watch raises and clears (quota_near is the API's: api/energy/quota_watch.py, where
# the indicator report is).
WATCHED: Final[frozenset[EnergyEventKind]] = frozenset({"night_base_load", "night_water_flow", "meter_silent"})


@dataclass(frozen=True, slots=True)
class EnergyEvent:
    """An energy event to raise as an alert of the institution's unit."""

    kind: EnergyEventKind
    institution_id: str
    meter_id: str | None
    level: Literal["yellow", "red"]
    time: datetime  # the start of what was judged
    detail: str  # in English: the text of `params`
    # What its text says, by name, so that it is told in each reader's language (domain/vocabulary).
    params: Mapping[str, Any] | None = None


def _event(
    kind: EnergyEventKind,
    institution_id: str,
    meter_id: str | None,
    level: Literal["yellow", "red"],
    time: datetime,
    *,
    params: Mapping[str, Any],
) -> EnergyEvent:
    return EnergyEvent(kind, institution_id, meter_id, level, time, render("en", kind, params), params)


@dataclass(frozen=True, slots=True)
class MeterSeen:
    """A meter in service and when it last reported (None: never)."""

    meter_id: str
    institution_id: str
    last_reading: datetime | None


def silent_meters(meters: list[MeterSeen], now: datetime, silent_seconds: float) -> list[EnergyEvent]:
    """The meters with no reading for longer than `silent_seconds`; a meter never read raises nothing."""
    out = []
    for m in meters:
        if m.last_reading is None or now - m.last_reading <= timedelta(seconds=silent_seconds):
            continue
        out.append(
            _event(
                "meter_silent",
                m.institution_id,
                m.meter_id,
                "yellow",
                m.last_reading,
                params={
                    "meter": m.meter_id,
                    "quiet_s": (now - m.last_reading).total_seconds(),
                    "since": m.last_reading.isoformat(),
                    "allowed_s": float(silent_seconds),
                },
            )
        )
    return out


def night_events(
    hours: Hours, *, start: date, end: date, night_ratio: Decimal, leak_nights: int, zone: ZoneInfo
) -> list[EnergyEvent]:
    """The night anomalies of the whole days [start, end) as events: an institution's night base load over them, a
    water meter's run of nights with flow ending with the last night (`end` - 1 day)."""
    out = []
    for institution_id, load in sorted(hours.loads.items()):
        for kind, ratio, threshold in load.ratios(night_ratio, Decimal("Infinity")):
            if kind == "night_base_load":
                out.append(
                    _event(
                        "night_base_load",
                        institution_id,
                        None,
                        "yellow",
                        _midnight(start, zone),
                        params={
                            "ratio_pct": _percent(ratio),
                            "days": len(load.days),
                            "start": start.isoformat(),
                            "end": (end - timedelta(days=1)).isoformat(),
                            "threshold_pct": _percent(threshold),
                        },
                    )
                )
    last_night = end - timedelta(days=1)
    for (institution_id, meter_id), series in sorted(hours.nights.items()):
        run = night_run(series)
        if len(run) >= leak_nights and run[-1][0] == last_night:
            out.append(
                _event(
                    "night_water_flow",
                    institution_id,
                    meter_id,
                    "yellow",
                    _midnight(run[0][0], zone),
                    params={
                        "meter": meter_id,
                        "nights": len(run),
                        "start": run[0][0].isoformat(),
                        "end": last_night.isoformat(),
                        "flow": str(mean_flow(run)),
                        "leak_nights": leak_nights,
                    },
                )
            )
    return out


def night_cleared(
    kind: str,
    alert_time: datetime,
    subject: tuple[str, str | None],
    hours: Hours,
    *,
    start: date,
    end: date,
    night_ratio: Decimal,
    zone: ZoneInfo,
) -> str | None:
    """Why an active night event of `subject` (institution, meter), raised for what began at `alert_time`, ended
    by the days [start, end); None while it lasts or nothing newer is known (no data is not a normal night)."""
    institution_id, meter_id = subject
    if kind == "night_water_flow" and meter_id is not None:
        raised_from = alert_time.astimezone(zone).date()
        for day, smallest in hours.nights.get((institution_id, meter_id), []):
            if day > raised_from and smallest <= 0:
                return f"the night of {day} had no flow (01-05 h)"
        return None
    if kind == "night_base_load":
        load = hours.loads.get(institution_id)
        if alert_time.astimezone(zone).date() >= start or load is None:
            return None
        ratio = load.measured().get("night_base_load")
        if ratio is None or ratio >= night_ratio:
            return None
        return (
            f"night load {_percent(ratio)}% of the working-hours load from {start} to {end - timedelta(days=1)}, "
            f"under the {_percent(night_ratio)}% allowed"
        )
    return None


@dataclass(frozen=True, slots=True)
class QuotaFigure:
    """An assessed indicator of the year so far against its quota pro rata for those days, as the indicator report
    judges it (status over, near or ok; None: no figure, which is never "under quota")."""

    indicator: str
    value: Decimal | None
    limit: Decimal
    status: Literal["over", "near", "ok"] | None


def quota_event(
    institution_id: str, figures: list[QuotaFigure], *, start: date, end: date, zone: ZoneInfo
) -> EnergyEvent | None:
    """A quota_near event when an indicator of the days [start, end) of a year is near its quota pro rata for those
    days (the same as: at this pace the year ends at the near share of its quota or more), yellow; red when one is
    over it. None when none is, or none has a figure."""
    flagged = [f for f in figures if f.status in ("near", "over")]
    if not flagged:
        return None
    level: Literal["yellow", "red"] = "red" if any(f.status == "over" for f in flagged) else "yellow"
    # The last day judged, not the year's first: a yellow cleared (red, or a raised quota) and found again later is a
    # new alert, which the same time and level would make a duplicate of the first (the unique alert_energy_period).
    return _event(
        "quota_near",
        institution_id,
        None,
        level,
        _midnight(end - timedelta(days=1), zone),
        params={
            "start": start.isoformat(),
            "end": (end - timedelta(days=1)).isoformat(),
            "figures": [_quota_params(f) for f in flagged],
        },
    )


def quota_cleared(level: str, figures: list[QuotaFigure]) -> str | None:
    """Why an active quota_near alert of `level` ended: no indicator over its quota any more (red), none near or over
    (yellow), or no quota applies any more; None while it lasts, or when no indicator has a figure (no data is not
    under quota)."""
    if not figures:
        return "no quota applies any more"
    known = [f for f in figures if f.status is not None]
    if not known:
        return None
    still = ("over",) if level == "red" else ("near", "over")
    if any(f.status in still for f in known):
        return None
    return "now " + "; ".join(_quota_words(f) for f in known)


def _quota_words(f: QuotaFigure) -> str:
    return render("en", "quota_near", {"form": "quota_near.figures", **_quota_params(f)})


def _quota_params(f: QuotaFigure) -> dict[str, Any]:
    """An indicator's figure in a quota_near alert: its value, quota for the days and share of it, and its state."""
    share = f"{_percent(f.value / f.limit)}%" if f.value is not None and f.limit else "?"
    return {
        "indicator": f.indicator,
        "indicator_unit": f.indicator,
        "value": str(f.value),
        "limit": str(f.limit),
        "share": share,
        "quota_state": f.status or "",
    }


def silence_ended(alert_time: datetime, last_reading: datetime | None) -> str | None:
    """Why a meter_silent alert raised on the reading at `alert_time` ended: a newer reading."""
    if last_reading is None or last_reading <= alert_time:
        return None
    return f"reported again at {last_reading.isoformat()}"


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).quantize(Decimal(1))}"
