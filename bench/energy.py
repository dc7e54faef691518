"""bench/energy: energy statistics from the consumption roll-up, beside the same figures from raw readings.

    .venv/bin/python -m bench.energy                                # 1,000 institutions, a year of hourly readings
    .venv/bin/python -m bench.energy --institutions 50 --days 30    # a small run
    .venv/bin/python -m bench.energy --keep                         # keep the loaded stack for --reuse
    .venv/bin/python -m bench.energy --reuse HOME                   # time the queries again on a kept stack

Starts its own TimescaleDB and Mosquitto (as bench.ingest does), imports the simulated city into the
registry, starts a collector and puts the history of one year in through MQTT (simulators' backfill:
each meter's readings of a day in one message, every hour), then builds the consumption roll-up the
way the API does (the collector marked every meter stale; `refresh` recounts them into consumption_day).
It then times, after a warm-up, as the median of several interleaved repetitions:

- the year's indicators of the whole city (api/energy/indicators.py, group "city"), and of each institution;
- one institution's consumption per month over the year (api/energy/series.py);
- the XLSX export (the calls of api/exports/routes.py: the per-institution report, the months, data quality,
  the sheets and the workbook, written to memory);
- the statistics survey's forms as XLSX (GET /survey/{year}/forms.xlsx: the inputs of db/survey.py, the forms
  filled by domain/survey.py, the workbook), every institution of the city put into the year's survey with
  departments, divisions and categories first (`prepare_survey`); its baseline fills the same forms with the
  consumption straight from the readings, and the two must agree on every institution's figures;

each beside the same figures computed straight from the `reading` hypertable in SQL (a window over each
meter's readings in time order). The two must agree, and the run says by how much they do.

Staff's corrections of meters' days (api/energy/corrections.py) are a declared difference between the two: the run
makes one itself (the year's largest meter-day halved, as staff would a spike), and the raw side puts each correction
that applies in place of what the readings of its day add up to, so the check still compares every other day with
the readings and says how many corrections it declared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from api.access.users import create_user
from api.energy import factors as factor_data
from api.energy import indicators, provenance, quality, series, workbook
from api.energy.factors import Factors
from api.energy.indicators import IndicatorReport
from api.files.workbook import write_xlsx
from api.survey import report as survey_report
from api.survey import workbook as survey_workbook
from api.survey.forms import field_list
from bench.ingest import BATCH, COMMITTED, _load, _metrics, _stop, _tail
from db import corrections as corrections_db
from db import survey as survey_db
from db.energy_reports import IN_TOTAL, Filters
from db.migrate import migrate
from db.pool import open_pool
from db.registry import import_document
from db.scope import Scope
from domain.measures import to_report_unit
from domain.periods import Period, next_month
from domain.registry import RegistryDocument
from domain.survey import SURVEY_CATEGORY, Figure, fill
from simulators.city import build_city
from simulators.publisher import Tally, backfill
from worker import rollup
from yiwang.settings import Settings
from yiwang.stack import Stack, free_port

ROOT = "bench"
CORRECTOR = "bench-energy-staff"  # the user the run's correction is made by
ZONE = ZoneInfo("Asia/Shanghai")
INTERVAL = 3600.0  # s between readings: hourly history
SEED = 20260101
NEAR = Decimal("0.9")
KEY_UNIT_TCE = Decimal(str(Settings.model_fields["energy_key_unit_threshold_tce"].default))
SCOPE = Scope(None)  # everything: what the bureau's energy staff see
STALL_SECONDS = 120.0  # a collector that commits nothing new for this long has failed
PROGRESS_SECONDS = 60.0
STATE = "bench-energy.json"  # in the home of a kept stack: its ports and what was loaded

# Targets of the issue
CITY_SECONDS = 1.0
CITY_RATIO = 20.0
XLSX_SECONDS = 5.0
SURVEY = "survey forms XLSX (whole city)"
AGREE = Decimal("1e-6")  # the largest relative difference between roll-up and raw that counts as the same

T = TypeVar("T")


@dataclass
class Load:
    """How the history went in and how long each step took."""

    institutions: int
    meters: int
    days: int
    year: int
    messages: int = 0
    readings: int = 0
    publish_seconds: float = 0.0  # until the broker confirmed the last message
    load_seconds: float = 0.0  # until the collector committed the last message
    rollup_seconds: float = 0.0
    rollup_days: int = 0
    analyze_seconds: float = 0.0


@dataclass
class Timing:
    """One figure: the roll-up's times and the raw query's, in seconds."""

    name: str
    rollup: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)

    @property
    def rollup_median(self) -> float:
        return statistics.median(self.rollup)

    @property
    def raw_median(self) -> float | None:
        return statistics.median(self.raw) if self.raw else None


# The baseline: consumption straight from the readings. Each meter's readings in time order; a rise
# from one reading to the next, times the meter's multiplier, is consumption, counted in the period
# where it starts (exact here: readings fall on local hours, so no rise spans two days). It ignores
# the roll-up's rules for rollovers, jitter, resets and implausible deltas (domain/counters.py),
# which only makes it cheaper than the real thing. `last` is the end of the latest period, included so
# that the rise into it is seen.
_RAW_SUMS = """
WITH steps AS (
    SELECT r.meter_id,
           lag(r.time) OVER w AS start,
           r.register - lag(r.register) OVER w AS rise
    FROM reading r
    WHERE r.time >= {first} AND r.time <= {last}
    WINDOW w AS (PARTITION BY r.meter_id ORDER BY r.time)
)
SELECT m.institution_id, p.label, m.energy_type, m.sub_item, m.unit, {in_total}, sum(s.rise * m.multiplier)::numeric
FROM steps s
JOIN meter m ON m.id = s.meter_id
JOIN institution i ON i.id = m.institution_id
JOIN (VALUES {periods}) AS p (label, start, stop) ON s.start >= p.start AND s.start < p.stop
WHERE s.rise > 0 AND {conditions}
GROUP BY 1, 2, 3, 4, 5, 6
"""

# Staff's corrections in the raw figures: each correction that applies, less what the readings of its day add up to
# (the rises that start in the day, as above), counted where the day's midnight falls. `periods` labels the day.
_DECLARED = """
WITH corrected AS (
    SELECT c.meter_id, c.amount, c.day::timestamp AT TIME ZONE {zone} AS start,
           (c.day + 1)::timestamp AT TIME ZONE {zone} AS stop
    FROM consumption_correction c
    WHERE c.withdrawn_at IS NULL AND c.day >= {first_day} AND c.day < {last_day}
)
SELECT m.institution_id, p.label, m.energy_type, m.sub_item, m.unit, {in_total},
       sum(k.amount - coalesce(x.rises, 0) * m.multiplier::numeric), count(*)
FROM corrected k
JOIN meter m ON m.id = k.meter_id
JOIN institution i ON i.id = m.institution_id
JOIN (VALUES {periods}) AS p (label, start, stop) ON k.start >= p.start AND k.start < p.stop
LEFT JOIN LATERAL (
    SELECT sum(s.rise)::numeric AS rises FROM (
        SELECT r.time, lead(r.register) OVER (ORDER BY r.time) - r.register AS rise
        FROM reading r
        WHERE r.meter_id = k.meter_id AND r.time >= k.start
          AND r.time <= (SELECT min(n.time) FROM reading n WHERE n.meter_id = k.meter_id AND n.time >= k.stop)
    ) s
    WHERE s.time < k.stop AND s.rise > 0
) x ON true
WHERE {conditions}
GROUP BY 1, 2, 3, 4, 5, 6
"""

_RAW_MONTHS = """
WITH steps AS (
    SELECT r.meter_id,
           lag(r.time) OVER w AS start,
           r.register - lag(r.register) OVER w AS rise
    FROM reading r JOIN meter m ON m.id = r.meter_id
    WHERE m.institution_id = {institution} AND r.time >= {first} AND r.time <= {last}
    WINDOW w AS (PARTITION BY r.meter_id ORDER BY r.time)
)
SELECT date_trunc('month', s.start AT TIME ZONE {zone})::date, m.energy_type, m.sub_item, m.unit, {in_total},
       sum(s.rise * m.multiplier)::numeric
FROM steps s JOIN meter m ON m.id = s.meter_id
WHERE s.rise > 0 AND s.start >= {first} AND s.start < {last}
GROUP BY 1, 2, 3, 4, 5
"""


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


@dataclass
class RawFigures:
    """What the baseline computes per group and period: consumption, comprehensive energy, carbon, ratios."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))  # report units
    sub_items: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    kgce: Decimal = Decimal(0)
    carbon_tco2: Decimal = Decimal(0)
    headcount: int = 0
    floor_area: Decimal = Decimal(0)
    water_per_head: Decimal = Decimal(0)  # numerators of institutions stating the denominator
    kgce_per_head: Decimal = Decimal(0)
    kgce_per_area: Decimal = Decimal(0)
    kwh_per_area: Decimal = Decimal(0)
    # denominators of institutions with readings of each ratio's numerator
    water_heads: int = 0
    energy_heads: int = 0
    energy_area: Decimal = Decimal(0)
    electricity_area: Decimal = Decimal(0)

    def ratios(self) -> dict[str, Decimal | None]:
        def ratio(numerator: Decimal, denominator: Decimal | int) -> Decimal | None:
            return numerator / denominator if denominator else None

        return {
            "water_per_capita": ratio(self.water_per_head, self.water_heads),
            "energy_per_capita": ratio(self.kgce_per_head, self.energy_heads),
            "energy_per_area": ratio(self.kgce_per_area, self.energy_area),
            "electricity_per_area": ratio(self.kwh_per_area, self.electricity_area),
        }

    def counted(self, figure: Decimal) -> Decimal | None:
        """An energy figure, None when no energy (water aside) has readings: what the report says then."""
        return figure if any(e != "water" for e in self.amounts) else None


async def raw_indicators(
    conn: AsyncConnection, period: Period, factors: Factors, *, per_institution: bool
) -> dict[str, dict[str, RawFigures]]:
    """The period's (and its comparison periods') figures straight from the readings: per institution, or
    for the whole city under the key "city". Same definitions as api/energy/indicators.py."""
    periods = {"current": period, "last_year": period.last_year(), "previous": period.previous()}
    first = min(p.start for p in periods.values())
    last = max(p.end for p in periods.values())
    values = sql.SQL(", ").join(
        sql.SQL("({}, {}::timestamptz, {}::timestamptz)").format(
            sql.Literal(label), sql.Literal(_midnight(p.start)), sql.Literal(_midnight(p.end))
        )
        for label, p in periods.items()
    )
    cur = await conn.execute(
        sql.SQL(_RAW_SUMS).format(
            first=sql.Literal(_midnight(first)),
            last=sql.Literal(_midnight(last)),
            periods=values,
            conditions=Filters().conditions(SCOPE),
            in_total=IN_TOTAL,
        )
    )
    sums: dict[tuple[str, str], RawFigures] = {}
    rows = [row[:7] for row in await cur.fetchall()]
    rows += [row[:7] for row in await declared(conn, periods, Filters().conditions(SCOPE))]
    for institution_id, label, energy_type, sub_item, unit, in_total, amount in rows:
        figures = sums.setdefault((institution_id, label), RawFigures())
        scaled = amount * to_report_unit(energy_type, unit)
        if in_total:  # sub-item meters are a breakdown of the main meter, as in the roll-up's figures
            figures.amounts[energy_type] += scaled
        if sub_item is not None:
            figures.sub_items[sub_item] += scaled
    cur = await conn.execute(
        "SELECT institution_id, year, floor_area_m2::numeric, headcount FROM institution_year WHERE year = ANY(%s)",
        (sorted({p.start.year for p in periods.values()}),),
    )
    denominators = {(i, y): (area, heads) for i, y, area, heads in await cur.fetchall()}
    cur = await conn.execute("SELECT id FROM institution ORDER BY id")
    out: dict[str, dict[str, RawFigures]] = defaultdict(lambda: defaultdict(RawFigures))
    for (institution_id,) in await cur.fetchall():
        for label, p in periods.items():
            mine = sums.get((institution_id, label), RawFigures())
            group = out[institution_id if per_institution else "city"][label]
            _add(group, mine, denominators.get((institution_id, p.start.year), (None, None)), factors)
    return out


def _add(group: RawFigures, mine: RawFigures, denominators: tuple[Decimal | None, int | None], f: Factors) -> None:
    kgce = sum((a * f.coal[e][1] for e, a in mine.amounts.items() if e in f.coal), Decimal(0))
    carbon = sum((a * f.carbon[e][1] for e, a in mine.amounts.items() if e in f.carbon), Decimal(0)) / 1000
    for energy_type, amount in mine.amounts.items():
        group.amounts[energy_type] += amount
    for sub_item, amount in mine.sub_items.items():
        group.sub_items[sub_item] += amount
    group.kgce += kgce
    group.carbon_tco2 += carbon
    # A ratio counts an institution only where it has readings of the numerator: missing is not zero.
    area, heads = denominators
    energy = any(e in f.coal for e in mine.amounts)
    if heads:
        group.headcount += heads
        group.water_per_head += mine.amounts.get("water", Decimal(0))
        group.kgce_per_head += kgce
    if area:
        group.floor_area += area
        group.kgce_per_area += kgce
        group.kwh_per_area += mine.amounts.get("electricity", Decimal(0))
    group.water_heads += heads if heads and "water" in mine.amounts else 0
    group.energy_heads += heads if heads and energy else 0
    group.energy_area += area if area and energy else Decimal(0)
    group.electricity_area += area if area and "electricity" in mine.amounts else Decimal(0)


async def raw_months(
    conn: AsyncConnection, institution_id: str, start: date, end: date
) -> dict[tuple[str, str | None], dict[date, Decimal]]:
    """One institution's consumption per local month from the readings, per energy type and electricity
    sub-item (report units), keyed as api/energy/series.py keys its series."""
    cur = await conn.execute(
        sql.SQL(_RAW_MONTHS).format(
            institution=sql.Literal(institution_id),
            first=sql.Literal(_midnight(start)),
            last=sql.Literal(_midnight(end)),
            zone=sql.Literal(ZONE.key),
            in_total=IN_TOTAL,
        )
    )
    rows = list(await cur.fetchall())
    months: dict[str, Period] = {}
    month = start.replace(day=1)
    while month < end:
        months[month.isoformat()] = Period(max(month, start), min(next_month(month), end))
        month = next_month(month)
    within = sql.SQL("i.id = {}").format(sql.Literal(institution_id))
    for _, label, energy_type, sub_item, unit, in_total, amount, _ in await declared(conn, months, within):
        rows.append((date.fromisoformat(label), energy_type, sub_item, unit, in_total, amount))
    out: dict[tuple[str, str | None], dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for month, energy_type, sub_item, unit, in_total, amount in rows:
        scaled = amount * to_report_unit(energy_type, unit)
        if in_total:
            out[(energy_type, None)][month] += scaled
        if sub_item is not None:
            out[(energy_type, sub_item)][month] += scaled
    return out


async def declared(
    conn: AsyncConnection, periods: Mapping[str, Period], conditions: sql.Composable
) -> list[tuple[str, str, str, str | None, str, bool, Decimal, int]]:
    """Staff's corrections in the labelled periods of the institutions selected by `conditions` (on `institution
    i`): per institution, label and meter kind, what they change against the readings, in the meters' unit (each
    correction less what the readings of its day add up to), and how many there are."""
    values = sql.SQL(", ").join(
        sql.SQL("({}, {}::timestamptz, {}::timestamptz)").format(
            sql.Literal(label), sql.Literal(_midnight(p.start)), sql.Literal(_midnight(p.end))
        )
        for label, p in periods.items()
    )
    cur = await conn.execute(
        sql.SQL(_DECLARED).format(
            zone=sql.Literal(ZONE.key),
            first_day=sql.Literal(min(p.start for p in periods.values())),
            last_day=sql.Literal(max(p.end for p in periods.values())),
            periods=values,
            conditions=conditions,
            in_total=IN_TOTAL,
        )
    )
    return await cur.fetchall()


async def declare_correction(url: str, year: int) -> str:
    """Correct one meter-day as staff would a spike: the year's largest counted meter-day of the institution with
    most meters, halved (again on a kept stack: correcting a day again replaces its correction). Says which."""
    async with open_pool(url, max_size=1, name="bench-energy-correction") as pool, pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM app_user WHERE name = %s", (CORRECTOR,))
        found = await cur.fetchone()
        user_id = (
            found[0]
            if found is not None
            else await create_user(conn, CORRECTOR, secrets.token_urlsafe(24), "energy_staff")
        )
        await conn.commit()
        cur = await conn.execute(
            # Of the institution whose monthly series the run compares (the one with most meters): all three checks
            # then hold the correction.
            """SELECT meter_id, day, coalesce(original, amount) FROM consumption_day
               WHERE day >= %s AND day < %s AND meter_id IN (
                   SELECT id FROM meter WHERE institution_id = (
                       SELECT institution_id FROM meter GROUP BY 1 ORDER BY count(*) DESC, institution_id LIMIT 1))
               ORDER BY 3 DESC, 1, 2 LIMIT 1""",
            (date(year, 1, 1), date(year + 1, 1, 1)),
        )
        largest = await cur.fetchone()
        await conn.commit()
        if largest is None:
            return "no counted day to correct"
        meter_id, day, counted = largest
        half = (counted / 2).quantize(Decimal("0.000001"))
        await corrections_db.correct(
            conn, meter_id, day, amount=half, reason="bench/energy: a declared correction", user_id=user_id
        )
        cur = await conn.execute(
            "SELECT count(*) FROM consumption_correction WHERE withdrawn_at IS NULL AND day >= %s AND day < %s",
            (date(year, 1, 1), date(year + 1, 1, 1)),
        )
        applying = await cur.fetchone()
    return (
        f"{applying[0] if applying else 0} applying in {year}, this run's: meter {meter_id} on {day},"
        f" {counted:f} corrected to {half:f}"
    )


async def rollup_indicators(conn: AsyncConnection, period: Period, group: indicators.Group) -> IndicatorReport:
    """What GET /energy/indicators computes."""
    chosen = await _factors(conn, period)
    return await indicators.report(
        conn,
        SCOPE,
        period=period,
        group=group,
        factors=chosen,
        filters=Filters(),
        zone=ZONE.key,
        near=NEAR,
        key_unit_tce=KEY_UNIT_TCE,
    )


async def _factors(conn: AsyncConnection, period: Period) -> Factors:
    return await factor_data.choose(
        conn, year=period.start.year, coal_version=None, carbon_version=None, region="national"
    )


async def rollup_months(conn: AsyncConnection, institution_id: str, period: Period) -> series.ConsumptionSeries:
    """What GET /energy/consumption?step=month computes."""
    found = await series.consumption(
        conn, SCOPE, institution_id=institution_id, meter_id=None, start=period.start, end=period.end,
        step="month", zone=ZONE,
    )  # fmt: skip
    if found is None:
        raise RuntimeError(f"institution {institution_id} not found")
    return found


async def export_xlsx(conn: AsyncConnection, period: Period) -> int:
    """What GET /exports/energy.xlsx computes (api/exports/routes.py), written to memory; returns its size."""
    result = await rollup_indicators(conn, period, "institution")
    chosen = await _factors(conn, period)
    months = await series.monthly(conn, SCOPE, Filters(), start=period.start, end=period.end, factors=chosen)
    checked = await quality.report(
        conn, SCOPE, Filters(), start=period.start, end=period.end, zone=ZONE,
        silent_seconds=86_400.0,
    )  # fmt: skip
    # The provenance sheet's one query of its own: the held gaps of the quality summary.
    await provenance.held_gaps(conn, SCOPE, Filters(), period=period, zone=ZONE)
    target = BytesIO()
    write_xlsx(workbook.sheets(result, months, checked, "zh"), target)
    return target.tell()


# --- the statistics survey -----------------------------------------------------------------------------

SURVEY_DISTRICT_CODE = "3602"  # the city's prefix of GB/T 2260 division codes (景德镇市); districts numbered after it


async def prepare_survey(url: str, year: int) -> str:
    """Put every institution into the survey of `year` as the registry's facts would (again on a kept stack: the same
    values): a commission per district with a bureau under it, institutions alternating between the two, the
    district's division code, the survey's categories in turn. Says what it made."""
    categories = sorted(SURVEY_CATEGORY)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT id, coalesce(district, '') FROM institution ORDER BY id")
        institutions = await cur.fetchall()
        districts = sorted({district for _, district in institutions})
        number = {district: n for n, district in enumerate(districts, start=1)}
        for district, n in number.items():
            await conn.execute(
                """INSERT INTO department (id, name, parent_id) VALUES (%s, %s, NULL), (%s, %s, %s)
                   ON CONFLICT (id) DO NOTHING""",
                (f"bench-{n}", f"{district}委员会", f"bench-{n}-b", f"{district}委属局", f"bench-{n}"),
            )
        async with conn.cursor() as cur:
            await cur.executemany(
                """INSERT INTO institution_year (institution_id, year, in_survey, department_id, division_code,
                       survey_category)
                   VALUES (%s, %s, true, %s, %s, %s)
                   ON CONFLICT (institution_id, year) DO UPDATE SET in_survey = true,
                       department_id = excluded.department_id, division_code = excluded.division_code,
                       survey_category = excluded.survey_category""",
                [
                    (
                        institution_id,
                        year,
                        f"bench-{number[district]}" + ("-b" if k % 2 else ""),
                        f"{SURVEY_DISTRICT_CODE}{number[district]:02d}",
                        categories[k % len(categories)],
                    )
                    for k, (institution_id, district) in enumerate(institutions)
                ],
            )
    return f"{len(institutions):,} institutions in the survey, {2 * len(districts)} departments"


async def survey_xlsx(conn: AsyncConnection, year: int) -> int:
    """What GET /survey/{year}/forms.xlsx computes for the whole city (api/survey/routes/survey.py), written to
    memory; returns its size."""
    found = await survey_report.survey(conn, SCOPE, year)
    target = BytesIO()
    write_xlsx(survey_workbook.form_sheets(found.fields, year, found.filled, "zh"), target)
    return target.tell()


async def raw_year(conn: AsyncConnection, period: Period) -> dict[tuple[str, str], Decimal]:
    """Each institution's consumption of each type in the period straight from the readings (and staff's
    corrections), in report units: the survey's figures without the roll-up."""
    values = sql.SQL("({}, {}::timestamptz, {}::timestamptz)").format(
        sql.Literal("current"), sql.Literal(_midnight(period.start)), sql.Literal(_midnight(period.end))
    )
    cur = await conn.execute(
        sql.SQL(_RAW_SUMS).format(
            first=sql.Literal(_midnight(period.start)),
            last=sql.Literal(_midnight(period.end)),
            periods=values,
            conditions=Filters().conditions(SCOPE),
            in_total=IN_TOTAL,
        )
    )
    rows = [row[:7] for row in await cur.fetchall()]
    rows += [row[:7] for row in await declared(conn, {"current": period}, Filters().conditions(SCOPE))]
    amounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for institution_id, _, energy_type, _, unit, in_total, amount in rows:
        if in_total:
            amounts[(institution_id, energy_type)] += amount * to_report_unit(energy_type, unit)
    return amounts


async def survey_xlsx_raw(conn: AsyncConnection, period: Period) -> int:
    """The same forms with their consumption straight from the readings: the survey's baseline."""
    found = await survey_db.inputs(conn, SCOPE, period.start.year)
    amounts = await raw_year(conn, period)
    figures = [Figure(i, e, "building", amount, None) for (i, e), amount in amounts.items()]
    filled = fill(field_list(), replace(found, figures=figures))
    target = BytesIO()
    write_xlsx(survey_workbook.form_sheets(field_list(), period.start.year, filled, "zh"), target)
    return target.tell()


async def survey_figures(conn: AsyncConnection, year: int) -> dict[tuple[str, str], Decimal | None]:
    """The survey's consumption figures (db.declared.yearly through db/survey.py), per institution and type."""
    found = await survey_db.inputs(conn, SCOPE, year)
    out: dict[tuple[str, str], Decimal | None] = {}
    for f in found.figures:  # one per institution, type and purpose: meters count for buildings only
        out[(f.institution_id, f.energy_type)] = f.quantity
    return out


# --- loading -------------------------------------------------------------------------------------------


def _settings(stack: Stack, *, metrics_port: int = 0) -> Settings:
    return Settings(
        database_url=stack.postgres.url,
        mqtt_port=stack.mosquitto.port,
        mqtt_topic_root=ROOT,
        mqtt_client_id="yiwang-bench-energy-collector",
        metrics_port=metrics_port,
        sim_seed=SEED,
        sim_meter_interval_s=INTERVAL,
        sim_faults=0.0,
        sim_client_id="yiwang-bench-energy",
    )


def _collector_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "YIWANG_DATABASE_URL": settings.database_url,
        "YIWANG_MQTT_PORT": str(settings.mqtt_port),
        "YIWANG_MQTT_TOPIC_ROOT": settings.mqtt_topic_root,
        "YIWANG_MQTT_CLIENT_ID": settings.mqtt_client_id,
        "YIWANG_METRICS_PORT": str(settings.metrics_port),
        "YIWANG_LOG_LEVEL": "WARNING",
    }


def _wait_metric(port: int, name: str, value: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while _metrics(port).get(name, 0) < value:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited with {proc.returncode}: {_tail(log)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"collector: {name} did not reach {value} ({_tail(log)})")
        time.sleep(0.1)


async def _publish(settings: Settings, start: datetime, end: datetime, institutions: int, metrics_port: int) -> Tally:
    city = build_city(SEED, institutions, 0)
    tally = Tally()
    began = time.monotonic()

    async def progress() -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            committed = (await asyncio.to_thread(_metrics, metrics_port)).get(COMMITTED, 0)
            elapsed = time.monotonic() - began
            confirmed = sum(tally.items.values())
            print(
                f"    {elapsed:5.0f} s: {confirmed:,} readings confirmed by the broker"
                f" ({confirmed / elapsed:,.0f}/s), {committed:,.0f} messages committed; load {_load()}",
                flush=True,
            )

    reporter = asyncio.create_task(progress())
    try:
        await backfill(settings, city, start, end, kinds=("meters",), tally=tally)
    finally:
        reporter.cancel()
    return tally


def load(stack: Stack, home: Path, institutions: int, days: int, year: int) -> Load:
    """Registry, collector, backfill through MQTT until everything is committed, roll-up, ANALYZE."""
    start = datetime(year, 1, 1, tzinfo=ZONE)
    end = min(start + timedelta(days=days), datetime(year + 1, 1, 1, tzinfo=ZONE))
    city = build_city(SEED, institutions, 0)
    done = Load(institutions, len(city.meters), (end - start).days, year)
    document = city.registry_document(years=[year - 1, year])
    for meter in document["meters"]:
        meter["reading_interval_seconds"] = int(INTERVAL)  # as the meters report below: completeness counts by it
    asyncio.run(_import(stack.postgres.url, document))
    metrics_port = free_port()
    settings = _settings(stack, metrics_port=metrics_port)
    log = home / "collector.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "yiwang.cli", "collect"], env=_collector_env(settings), stdout=out, stderr=out
        )
    try:
        # Subscribed before the first message is published: nothing published is lost.
        _wait_metric(metrics_port, "yiwang_collector_mqtt_connected", 1, proc, log)
        print(
            f"  backfill: {institutions:,} institutions, {len(city.meters):,} meters, {done.days} days"
            f" from {start.date()} every {INTERVAL:.0f} s, through MQTT and the collector",
            flush=True,
        )
        began = time.monotonic()
        tally = asyncio.run(_publish(settings, start, end, institutions, metrics_port))
        done.publish_seconds = time.monotonic() - began
        done.messages = sum(tally.messages.values())
        done.readings = sum(tally.items.values())
        last, changed = -1.0, time.monotonic()
        while (count := _metrics(metrics_port).get(COMMITTED, 0)) < done.messages:
            if proc.poll() is not None:
                raise RuntimeError(f"collector exited with {proc.returncode}: {_tail(log)}")
            if count != last:
                last, changed = count, time.monotonic()
            elif time.monotonic() - changed > STALL_SECONDS:
                raise RuntimeError(f"collector stalled at {count:,.0f} of {done.messages:,} messages: {_tail(log)}")
            time.sleep(0.2)
        done.load_seconds = time.monotonic() - began
    finally:
        _stop(proc)
    with psycopg.connect(stack.postgres.url) as conn:
        row = conn.execute("SELECT count(*) FROM reading").fetchone()
    if row is None or row[0] != done.readings:
        raise RuntimeError(f"{row} readings stored, {done.readings:,} published")
    print(
        f"    {done.readings:,} readings in {done.messages:,} messages: broker confirmed all in"
        f" {done.publish_seconds:.0f} s, collector committed all in {done.load_seconds:.0f} s"
        f" ({done.readings / done.load_seconds:,.0f} readings/s)",
        flush=True,
    )
    print("  consumption roll-up: refresh of the meters the collector marked stale", flush=True)
    done.rollup_seconds, done.rollup_days = asyncio.run(_build_rollup(stack.postgres.url))
    print(
        f"    {done.meters:,} meters, {done.rollup_days:,} meter-days in {done.rollup_seconds:.0f} s"
        f" ({done.readings / done.rollup_seconds:,.0f} readings/s)",
        flush=True,
    )
    began = time.monotonic()
    with psycopg.connect(stack.postgres.url, autocommit=True) as conn:
        # What autovacuum would do after a bulk load: statistics for the planner, the visibility map.
        for table in ("reading", "consumption_day", "consumption_event", "meter", "institution", "institution_year"):
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    done.analyze_seconds = time.monotonic() - began
    print(f"  VACUUM ANALYZE in {done.analyze_seconds:.0f} s", flush=True)
    return done


async def _import(url: str, document: Mapping[str, Any]) -> None:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await import_document(conn, RegistryDocument.model_validate(document))


async def _build_rollup(url: str) -> tuple[float, int]:
    async with open_pool(url, max_size=2, name="bench-energy-rollup") as pool:
        began = time.monotonic()
        while await rollup.refresh(pool, ZONE):
            pass
        seconds = time.monotonic() - began
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT count(*) FROM consumption_day")
            row = await cur.fetchone()
    return seconds, row[0] if row else 0


# --- timing --------------------------------------------------------------------------------------------


async def _time(pool: AsyncConnectionPool[AsyncConnection], work: Callable[[AsyncConnection], Awaitable[T]]) -> float:
    async with pool.connection() as conn:
        began = time.perf_counter()
        await work(conn)
        seconds = time.perf_counter() - began
        await conn.rollback()
    return seconds


async def _once(pool: AsyncConnectionPool[AsyncConnection], work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with pool.connection() as conn:
        result = await work(conn)
        await conn.rollback()
    return result


async def measure(url: str, year: int, repeats: int) -> tuple[list[Timing], list[Agreement], int]:
    """Warm up, then time every figure `repeats` times, the roll-up and the raw query interleaved.

    Returns:
        The timings, how the two sides agree (one line each), and the size of the XLSX file.
    """
    period = Period(date(year, 1, 1), date(year + 1, 1, 1))
    async with open_pool(url, max_size=2, name="bench-energy") as pool:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT institution_id FROM meter GROUP BY 1 ORDER BY count(*) DESC, institution_id LIMIT 1"
            )
            row = await cur.fetchone()
            assert row is not None
            institution_id: str = row[0]

        async def raw_city(conn: AsyncConnection) -> dict[str, dict[str, RawFigures]]:
            return await raw_indicators(conn, period, await _factors(conn, period), per_institution=False)

        async def raw_each(conn: AsyncConnection) -> dict[str, dict[str, RawFigures]]:
            return await raw_indicators(conn, period, await _factors(conn, period), per_institution=True)

        def city(conn: AsyncConnection) -> Awaitable[IndicatorReport]:
            return rollup_indicators(conn, period, "city")

        def each(conn: AsyncConnection) -> Awaitable[IndicatorReport]:
            return rollup_indicators(conn, period, "institution")

        def months(conn: AsyncConnection) -> Awaitable[series.ConsumptionSeries]:
            return rollup_months(conn, institution_id, period)

        def months_raw(conn: AsyncConnection) -> Awaitable[dict[tuple[str, str | None], dict[date, Decimal]]]:
            return raw_months(conn, institution_id, period.start, period.end)

        def raw_survey(conn: AsyncConnection) -> Awaitable[dict[tuple[str, str], Decimal]]:
            return raw_year(conn, period)

        def xlsx(conn: AsyncConnection) -> Awaitable[int]:
            return export_xlsx(conn, period)

        def survey(conn: AsyncConnection) -> Awaitable[int]:
            return survey_xlsx(conn, year)

        def survey_raw(conn: AsyncConnection) -> Awaitable[int]:
            return survey_xlsx_raw(conn, period)

        figures: list[tuple[Timing, Callable[[AsyncConnection], Awaitable[Any]], Callable[..., Awaitable[Any]] | None]]
        figures = [
            (Timing("annual indicators, whole city"), city, raw_city),
            (Timing("annual indicators, each institution"), each, raw_each),
            (Timing(f"monthly series of {institution_id}"), months, months_raw),
            (Timing("XLSX export (whole city)"), xlsx, None),
            (Timing(SURVEY), survey, survey_raw),
        ]
        # Warm-up, and the results to compare.
        agreement = [
            _agree_city(await _once(pool, city), await _once(pool, raw_city)),
            _agree_institutions(await _once(pool, each), await _once(pool, raw_each)),
            _agree_months(await _once(pool, months), await _once(pool, months_raw)),
            _agree_survey(await _once(pool, lambda c: survey_figures(c, year)), await _once(pool, raw_survey)),
        ]
        size = await _once(pool, xlsx)
        for _ in range(repeats):
            for timing, rolled, raw in figures:
                timing.rollup.append(await _time(pool, rolled))
                if raw is not None:
                    timing.raw.append(await _time(pool, raw))
    return [t for t, _, _ in figures], agreement, size


class Agreement(NamedTuple):
    """How one figure family of the roll-up compares with the same from raw readings."""

    said: str
    agree: bool


def _differences(pairs: Iterable[tuple[Decimal | None, Decimal | None]]) -> tuple[int, str, bool]:
    """How many pairs, the largest relative difference between the two of a pair said in words (a figure that one
    side has and the other says is missing is a whole difference), and whether they agree."""
    count, worst = 0, Decimal(0)
    for a, b in pairs:
        count += 1
        if a is None or b is None:
            worst = max(worst, Decimal(a is not b))
            continue
        base = max(abs(a), abs(b))
        if base:
            worst = max(worst, abs(a - b) / base)
    # Both count millionths of a unit, rounded differently: beyond that, one of them is wrong.
    verdict = "agree" if worst < AGREE else "DIFFER: the roll-up or the raw query is wrong"
    return count, f"largest relative difference {worst:.2e}: {verdict}", worst < AGREE


def _agree_city(report: IndicatorReport, raw: Mapping[str, Mapping[str, RawFigures]]) -> Agreement:
    [row] = report.rows
    mine = raw["city"]["current"]
    pairs: list[tuple[Decimal | None, Decimal | None]]
    pairs = [(c.amount, mine.amounts.get(c.energy_type, Decimal(0))) for c in row.current.consumption]
    # Rounded as the report rounds them.
    pairs.append((row.current.energy_kgce, mine.counted(mine.kgce.quantize(Decimal("0.001")))))
    pairs.append((row.current.carbon_tco2, mine.counted(mine.carbon_tco2.quantize(Decimal("0.000001")))))
    ratios = mine.ratios()
    for name in ("water_per_capita", "energy_per_capita", "energy_per_area", "electricity_per_area"):
        value, theirs = getattr(row.current, name), ratios[name]
        if value is not None and theirs is not None:
            pairs.append((value, theirs.quantize(Decimal("0.0001"))))
    count, said, agree = _differences(pairs)
    return Agreement(f"whole city: {count} figures, {said}", agree)


def _agree_institutions(report: IndicatorReport, raw: Mapping[str, Mapping[str, RawFigures]]) -> Agreement:
    pairs: list[tuple[Decimal | None, Decimal | None]] = []
    for row in report.rows:
        mine = raw[row.institution_id or ""]["current"]
        pairs += [(c.amount, mine.amounts.get(c.energy_type, Decimal(0))) for c in row.current.consumption]
        pairs.append((row.current.energy_kgce, mine.counted(mine.kgce.quantize(Decimal("0.001")))))
    count, said, agree = _differences(pairs)
    return Agreement(f"each institution: {count} figures, {said}", agree)


def _agree_months(
    found: series.ConsumptionSeries, raw: Mapping[tuple[str, str | None], Mapping[date, Decimal]]
) -> Agreement:
    pairs = []
    keys = set(raw)
    for s in found.series:
        keys.discard((s.energy_type, s.sub_item))
        theirs = raw.get((s.energy_type, s.sub_item), {})
        pairs += [(p.amount, theirs.get(p.start.date(), Decimal(0))) for p in s.points]
    count, said, agree = _differences(pairs)
    missing = f"; series only raw has: {sorted(keys)}" if keys else ""
    return Agreement(f"monthly series: {count} points, {said}{missing}", agree and not keys)


def _agree_survey(found: Mapping[tuple[str, str], Decimal | None], raw: Mapping[tuple[str, str], Decimal]) -> Agreement:
    keys = sorted(set(found) | set(raw))
    count, said, agree = _differences((found.get(k), raw.get(k)) for k in keys)
    return Agreement(f"survey (db.declared.yearly): {count} institution figures, {said}", agree)


# --- report --------------------------------------------------------------------------------------------


def report(
    loaded: Load,
    timings: list[Timing],
    agreement: list[Agreement],
    size: int,
    repeats: int,
    *,
    declared: str,
    prepared: str = "",
) -> bool:
    """Print the figures and the verdicts; whether the roll-up agrees with the raw readings (with the corrections
    `declared` in place of their days' readings)."""
    print()
    print(
        f"{loaded.institutions:,} institutions, {loaded.meters:,} meters ({loaded.meters / loaded.institutions:.2f}"
        f" each: the simulated city's own), {loaded.days} days of {loaded.year} read every {INTERVAL:.0f} s:"
        f" {loaded.readings:,} readings, loaded through MQTT (simulators' backfill) and the collector."
    )
    print(
        f"  load: broker confirmed in {loaded.publish_seconds:.0f} s; collector committed in"
        f" {loaded.load_seconds:.0f} s ({loaded.readings / loaded.load_seconds:,.0f} readings/s,"
        f" {loaded.messages:,} messages)"
    )
    print(
        f"  roll-up build (refresh of every stale meter): {loaded.rollup_seconds:.1f} s,"
        f" {loaded.readings / loaded.rollup_seconds:,.0f} readings/s, {loaded.rollup_days:,} meter-days written"
    )
    print(f"  VACUUM ANALYZE after the load: {loaded.analyze_seconds:.1f} s")
    print()
    print(
        f"Queries for the year {loaded.year} (Asia/Shanghai), median of {repeats} after a warm-up,"
        " roll-up and raw interleaved; raw = the same figures straight from the reading hypertable"
        " (SQL window over each meter's readings; ignores rollover/jitter/reset rules, which only makes it faster):"
    )
    width = max(len(t.name) for t in timings)
    for t in timings:
        line = f"  {t.name:{width}}  roll-up {t.rollup_median * 1000:8,.0f} ms"
        raw = t.raw_median
        if raw is not None:
            line += f"  raw {raw * 1000:8,.0f} ms  = {raw / t.rollup_median:6.1f} x"
        else:
            line += f"  ({size / 1024:,.0f} KiB; no raw baseline: the export formats the figures above)"
        if t.name == SURVEY:
            line += f"  (raw: the same forms, consumption straight from the readings; {prepared})"
        print(line)
    print(f"  declared corrections (raw puts each in place of its day's readings): {declared}")
    print("  roll-up and raw agree:")
    for agreed in agreement:
        print(f"  {'PASS' if agreed.agree else 'FAIL'}  {agreed.said}")
    print()
    by = {t.name: t for t in timings}
    city = by["annual indicators, whole city"]
    xlsx = by["XLSX export (whole city)"]
    ratio = (city.raw_median or 0) / city.rollup_median
    checks = [
        (f"annual city indicators under {CITY_SECONDS:.0f} s ({city.rollup_median * 1000:,.0f} ms)",
         city.rollup_median < CITY_SECONDS),
        (f"annual city indicators >= {CITY_RATIO:.0f} x faster than from raw ({ratio:.1f} x)", ratio >= CITY_RATIO),
        (f"XLSX export under {XLSX_SECONDS:.0f} s ({xlsx.rollup_median * 1000:,.0f} ms)",
         xlsx.rollup_median < XLSX_SECONDS),
    ]  # fmt: skip
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    # A missed speed target is a figure to read; a roll-up that disagrees with the raw readings is a broken result.
    return all(agreed.agree for agreed in agreement)


_MEASURED = ("api/energy", "api/exports", "api/files", "api/survey", "domain", "db", "collector", "simulators")


def _code() -> str:
    """The commit measured, and whether the tree differs from it: the energy code changes often."""

    def git(*args: str) -> str:
        here = Path(__file__).resolve().parent.parent
        return subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "--", *_MEASURED)
    except (OSError, subprocess.CalledProcessError):
        return "code: unknown commit"
    return f"code: {head}" + (f" with uncommitted changes in {', '.join(_MEASURED)}" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--institutions", type=int, default=1000, help="institutions of the simulated city")
    p.add_argument("--days", type=int, default=365, help="days of hourly history from 1 January of --year")
    p.add_argument("--year", type=int, default=date.today().year - 1, help="the year (default: the last whole one)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs of each query after a warm-up (median)")
    p.add_argument("--keep", action="store_true", help="leave the loaded stack running, for --reuse")
    p.add_argument("--reuse", type=Path, metavar="HOME", help="time the queries on a stack kept by --keep")
    args = p.parse_args(argv)

    began, code = time.monotonic(), _code()  # the code as this process imports it, not as it is at the end
    # SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so that the stack below is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.reuse is not None:
        home = args.reuse
        state = json.loads((home / STATE).read_text())
        stack = Stack.at(home, state["db_port"], state["mqtt_port"], shared_buffers="2GB", anonymous=True)
        loaded = Load(**state["load"])
        print(
            f"bench/energy on {os.cpu_count()} cores, load average {_load()}: reusing the stack in {home}"
            " (the load and roll-up figures below are those of the run that loaded it)",
            flush=True,
        )
    else:
        home = Path(tempfile.mkdtemp(prefix="yiwang-bench-energy-"))
        home.chmod(0o755)
        # A private loopback broker: anonymous, so that logging in is not part of any figure.
        stack = Stack.at(home, free_port(), free_port(), shared_buffers="2GB", inflight=4 * BATCH, anonymous=True)
        print(f"bench/energy on {os.cpu_count()} cores, load average {_load()}: stack in {home}", flush=True)
    keep = args.keep or args.reuse is not None
    stack.up()
    try:
        # A kept stack is brought up to the schema of the code that now reads it.
        migrate(stack.postgres.url)
        if args.reuse is None:
            loaded = load(stack, home, args.institutions, args.days, args.year)
            state = {"db_port": stack.postgres.port, "mqtt_port": stack.mosquitto.port, "load": vars(loaded)}
            (home / STATE).write_text(json.dumps(state))
        print(f"  queries: warm-up, then {args.repeats} rounds", flush=True)
        declared = asyncio.run(declare_correction(stack.postgres.url, loaded.year))
        prepared = asyncio.run(prepare_survey(stack.postgres.url, loaded.year))
        timings, agreement, size = asyncio.run(measure(stack.postgres.url, loaded.year, args.repeats))
    finally:
        if keep:
            print(f"  stack kept in {home}: {stack.postgres.url}; stop it with `YIWANG_HOME={home} yiwang stack down`")
        else:
            stack.down()
            shutil.rmtree(home, ignore_errors=True)
    passed = report(loaded, timings, agreement, size, args.repeats, declared=declared, prepared=prepared)
    print(f"\n({code}; whole run {time.monotonic() - began:.0f} s; load average now {_load()})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
