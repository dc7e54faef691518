"""Data quality per meter for a period: completeness, silence, and the deltas the rules did not count as rises.

- completeness: readings received of those expected at the meter's own reporting interval (the registry's
  reading_interval_seconds, 900 by default) over the part of the period that has passed since the meter was
  connected: from its installation date, or, without one, from its first reading (a meter whose first reading is
  older than the period counts from the period's start; one that never reported, too);
- conflicts: readings resent for a time already stored with another register (the first copy stays);
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
    reading_interval_seconds: int = Field(description="how often the meter reports (registry): a reading due each")
    counted_from: datetime = Field(
        description="where the expected readings start: the period's start, or the meter's connection if later (its "
        "installation date, or its first reading when the registry has no installation date)"
    )
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
    conflicts: int = Field(
        description="readings of the period resent with another register: the first copy stays (GET /energy/conflicts)"
    )


class InstitutionQuality(BaseModel):
    """An institution's meters together: what its figures rest on."""

    institution_id: str
    meters: int
    readings: int
    expected: int
    completeness: Decimal | None
    silent_meters: int
    implausible: int
    conflicts: int


class QualityReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    silent_seconds: float
    institutions: list[InstitutionQuality]
    meters: list[MeterQuality]


def counted_from(
    begin: datetime, installed_on: date | None, first_reading: datetime | None, zone: ZoneInfo
) -> datetime:
    """Where a meter's expected readings start: the period's `begin`, or its connection if later. Its connection is
    its installation date (local midnight) when the registry has one, else its first reading."""
    if installed_on is not None:
        return max(begin, datetime(installed_on.year, installed_on.month, installed_on.day, tzinfo=zone))
    if first_reading is not None:
        return max(begin, first_reading)
    return begin


def expected_readings(first: datetime, stop: datetime, interval_seconds: int) -> int:
    """Readings expected in [first, stop) of a meter reporting every `interval_seconds`."""
    return max(0, int((stop - first).total_seconds() // interval_seconds))


def completeness(readings: int, expected: int) -> Decimal | None:
    """Readings received over those expected, at most 1, to four places; null when none were expected."""
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
                completeness=completeness(readings, expected),
                silent_meters=sum(m.silent for m in members),
                implausible=sum(m.implausible for m in members),
                conflicts=sum(m.conflicts for m in members),
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
        interval,
        first_reading,
        readings,
        excluded,
        last_day,
        rollovers,
        resets,
        jitter,
        implausible,
        recent,
        conflicts,
    ) in rows:
        first = counted_from(begin, installed_on, first_reading, zone)
        expected = expected_readings(first, stop, interval)
        meters.append(
            MeterQuality(
                meter_id=meter_id,
                institution_id=institution_id,
                energy_type=energy_type,
                unit=unit,
                reading_interval_seconds=interval,
                counted_from=first,
                readings=readings,
                expected=expected,
                completeness=completeness(readings, expected),
                last_day_with_readings=last_day,
                silent=not recent,
                rollovers=rollovers,
                resets=resets,
                jitter=jitter,
                implausible=implausible,
                excluded=excluded,
                conflicts=conflicts,
            )
        )
    return QualityReport(
        start=start,
        end=end,
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
        "implausible, gap (held for staff: counted in no day), or replacement (a recorded swap of meters)"
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
    "replacement": "the meter was replaced (POST /meters/{meter_id}/replacements): the old meter counted up to its "
    "final register (`before`), the new one from its first (`after`)",
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


class ConflictingResend(BaseModel):
    """A reading resent for a time already stored, with another register: the stored one counts (the first copy
    wins), the resent one is kept here for staff to judge. A resend with the same register (a QoS 1 redelivery)
    leaves none."""

    meter_id: str
    institution_id: str
    time: datetime = Field(description="the reading's time, which both copies carry")
    stored_register: float = Field(description="the register stored and counted, the first copy's")
    resent_register: float = Field(description="the latest other register received for the same time")
    resends: int = Field(description="copies received with another register")
    first_received_at: datetime
    last_received_at: datetime


async def conflicts(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, meter_id: str | None, period: Period, zone: ZoneInfo
) -> list[ConflictingResend]:
    """The readings of the period's local days resent with another register, oldest first, at most 10,000."""
    start, end = period.moments(zone)
    rows = await energy_reports.conflicts(conn, scope, filters, meter_id=meter_id, start=start, end=end)
    return [
        ConflictingResend(
            meter_id=m,
            institution_id=i,
            time=t,
            stored_register=stored,
            resent_register=resent,
            resends=n,
            first_received_at=first,
            last_received_at=last,
        )
        for m, i, t, stored, resent, n, first, last in rows
    ]
