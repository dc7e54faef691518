"""Data quality per meter for a period: completeness, silence, and the deltas the rules did not count as rises.

- completeness: readings received of those expected at the reporting interval
  (YIWANG_ENERGY_READING_INTERVAL_SECONDS) over the part of the period the meter was installed and
  that has passed;
- silent: no reading within YIWANG_ENERGY_SILENT_SECONDS before now;
- rollovers, resets, jitter and implausible deltas in the period, and the amount excluded as implausible.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from db import energy_reports
from db.energy_reports import Filters
from db.scope import Scope
from domain.periods import Period


class MeterQuality(BaseModel):
    meter_id: str
    institution_id: str
    energy_type: str
    unit: str
    readings: int
    expected: int
    completeness: Decimal | None = Field(description="readings over expected, at most 1; null when none expected")
    last_day_with_readings: date | None
    silent: bool = Field(description="no reading within the silence threshold before now")
    rollovers: int
    resets: int
    jitter: int
    implausible: int
    excluded: Decimal = Field(description="what implausible deltas would have added, in the meter's unit")


class InstitutionQuality(BaseModel):
    """An institution's meters together: what its figures rest on."""

    institution_id: str
    meters: int
    readings: int
    expected: int
    completeness: Decimal | None
    silent_meters: int
    implausible: int


class QualityReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    interval_seconds: float
    silent_seconds: float
    institutions: list[InstitutionQuality]
    meters: list[MeterQuality]


def _completeness(readings: int, expected: int) -> Decimal | None:
    return min(Decimal(1), (Decimal(readings) / expected).quantize(Decimal("0.0001"))) if expected else None


def _institutions(meters: list[MeterQuality]) -> list[InstitutionQuality]:
    grouped: dict[str, list[MeterQuality]] = {}
    for meter in meters:
        grouped.setdefault(meter.institution_id, []).append(meter)
    out = []
    for institution_id, members in grouped.items():
        readings, expected = sum(m.readings for m in members), sum(m.expected for m in members)
        out.append(
            InstitutionQuality(
                institution_id=institution_id,
                meters=len(members),
                readings=readings,
                expected=expected,
                completeness=_completeness(readings, expected),
                silent_meters=sum(m.silent for m in members),
                implausible=sum(m.implausible for m in members),
            )
        )
    return out


async def report(
    conn: AsyncConnection,
    scope: Scope,
    filters: Filters,
    *,
    start: date,
    end: date,
    zone: ZoneInfo,
    interval_seconds: float,
    silent_seconds: float,
) -> QualityReport:
    now = datetime.now(UTC)
    begin, stop = Period(start, end).moments(zone)
    stop = min(stop, now)
    rows = await energy_reports.meter_quality(
        conn,
        scope,
        filters,
        start=start,
        end=end,
        begin=begin,
        stop=stop,
        silent_since=now - timedelta(seconds=silent_seconds),
    )
    meters = []
    for (
        meter_id,
        institution_id,
        energy_type,
        unit,
        installed_on,
        readings,
        excluded,
        last_day,
        rollovers,
        resets,
        jitter,
        implausible,
        recent,
    ) in rows:
        first = begin
        if installed_on is not None:
            first = max(first, datetime(installed_on.year, installed_on.month, installed_on.day, tzinfo=zone))
        expected = max(0, int((stop - first).total_seconds() // interval_seconds))
        meters.append(
            MeterQuality(
                meter_id=meter_id,
                institution_id=institution_id,
                energy_type=energy_type,
                unit=unit,
                readings=readings,
                expected=expected,
                completeness=_completeness(readings, expected),
                last_day_with_readings=last_day,
                silent=not recent,
                rollovers=rollovers,
                resets=resets,
                jitter=jitter,
                implausible=implausible,
                excluded=excluded,
            )
        )
    return QualityReport(
        start=start,
        end=end,
        interval_seconds=interval_seconds,
        silent_seconds=silent_seconds,
        institutions=_institutions(meters),
        meters=meters,
    )


class FlaggedDelta(BaseModel):
    """A delta between two readings that was not a plain rise, and why."""

    meter_id: str
    institution_id: str
    start: datetime
    end: datetime
    change: str = Field(
        description="rollover, jitter, glitch (a drop the next reading did not confirm), reset (or a replaced meter), "
        "implausible, or gap (held for staff: counted in no day)"
    )
    before: Decimal = Field(description="the baseline it was measured from, register units")
    after: Decimal = Field(description="the register at its end")
    amount: Decimal = Field(
        description="what it counts, in the meter's unit; implausible: what it would have; gap: what it holds"
    )
    reason: str


_REASONS = {
    "rollover": "the register passed its maximum and came round: counted the way round",
    "jitter": "a dip under 10% of the baseline: counts nothing, the higher value stays the baseline",
    "glitch": "a larger drop that the next reading did not confirm (it came back to the old baseline): counts "
    "nothing, the old value stays the baseline",
    "reset": "a larger drop that the next reading continued from (or the last reading yet): a reset or a replaced "
    "meter, counted from the new value",
    "implausible": "faster than the meter's max_rate: flagged and left out of consumption and indicators",
    "gap": "readings further apart than energy_max_gap_days: the delta is held unapportioned for staff to decide "
    "(PUT /energy/gaps/{meter_id}: spread or exclude), counted in no day, rather than spread over every day of the gap",
}


async def flagged(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, meter_id: str | None, period: Period, zone: ZoneInfo
) -> list[FlaggedDelta]:
    """The deltas of the period's local days (by their end) that were not plain rises, oldest first, at most
    10,000."""
    start, end = period.moments(zone)
    rows = await energy_reports.flagged(conn, scope, filters, meter_id=meter_id, start=start, end=end)
    return [
        FlaggedDelta(
            meter_id=m, institution_id=i, start=s, end=e, change=c, before=b, after=a, amount=amount, reason=_REASONS[c]
        )
        for m, i, s, e, c, b, a, amount in rows
    ]
