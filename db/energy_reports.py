"""SQL of the energy reports' reads: indicators, consumption series, data quality and anomalies, each reading the
consumption roll-up (`consumption_day`, `consumption_month`, `consumption_event`) joined to `meter` and
`institution`, within a Scope and the same Filters on `institution i`. One module, not one per report: they are one
family of reads that share the filters, the rule of which meters count in a total (`IN_TOTAL`) and the cover of a
period by whole months and days (`period_rows`).

The filters go into the SQL as literals, not parameters (a '%' in a value would read as a placeholder), so these
queries take no parameters. Rows come back as tuples; api/energy/ makes the reports of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from psycopg import AsyncConnection, sql

from db.scope import Scope
from domain.periods import Period, next_month

Label = TypeVar("Label", bound=str)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a report selects of the institutions in the scope: those equal to each filter given (None: any)."""

    institution_id: str | None = None
    organisation_id: str | None = None
    category: str | None = None
    district: str | None = None
    key_energy_unit: bool | None = None
    in_assessment: bool | None = None

    def conditions(self, scope: Scope) -> sql.Composable:
        """The scope and filters on `institution i` as SQL literals: a query holding them takes no %s
        parameters (a '%' in a value would read as one)."""
        parts: list[sql.Composable] = [scope.condition("i.organisation_id")]
        for column, value in (
            ("id", self.institution_id),
            ("organisation_id", self.organisation_id),
            ("category", self.category),
            ("district", self.district),
            ("key_energy_unit", self.key_energy_unit),
            ("in_assessment", self.in_assessment),
        ):
            if value is not None:
                parts.append(sql.SQL("{} = {}").format(sql.Identifier("i", column), sql.Literal(value)))
        return sql.SQL(" AND ").join(parts)


# Whether a meter's consumption counts in its institution's total of its energy type. Sub-item meters
# (分项计量: lighting and sockets, air conditioning...) measure parts of what the main meter measures: they are
# the breakdown, and count in the total only where the institution has no main meter of that energy.
IN_TOTAL = sql.SQL(
    """(m.sub_item IS NULL OR NOT EXISTS (
          SELECT 1 FROM meter main
          WHERE main.institution_id = m.institution_id AND main.energy_type = m.energy_type
            AND main.sub_item IS NULL))"""
)


def period_rows(periods: Iterable[tuple[str, Period]]) -> sql.Composable:
    """A subquery of (meter_id, label, day, amount, excluded, corrected) covering each labelled period exactly: its
    whole local months from consumption_month (`day` their first day), the days before its first and after its
    last whole month from consumption_day. A year is 12 rows a meter, not 365. `corrected`: how many of the row's
    days hold staff's correction (api/energy/corrections.py) in place of what the readings counted."""
    days: list[tuple[str, date, date]] = []
    months: list[tuple[str, date, date]] = []
    for label, p in periods:
        first = p.start if p.start.day == 1 else next_month(p.start)
        last = p.end.replace(day=1)
        if first < last:
            months.append((label, first, last))
            days += [(label, p.start, first), (label, last, p.end)]
        else:
            days.append((label, p.start, p.end))
    parts: list[sql.Composable] = []
    for table, column, corrected, ranges in (
        ("consumption_day", "day", "(t.original IS NOT NULL)::integer", days),
        ("consumption_month", "month", "t.corrected", months),
    ):
        kept = [r for r in ranges if r[1] < r[2]]
        if not kept:
            continue
        values = sql.SQL(", ").join(
            sql.SQL("({}, {}::date, {}::date)").format(sql.Literal(label), sql.Literal(a), sql.Literal(b))
            for label, a, b in kept
        )
        # The ranges again as a WHERE: the planner then reads them by index instead of the whole table.
        within = sql.SQL(" OR ").join(
            sql.SQL("(t.{c} >= {} AND t.{c} < {})").format(sql.Literal(a), sql.Literal(b), c=sql.Identifier(column))
            for _, a, b in kept
        )
        parts.append(
            sql.SQL(
                """SELECT t.meter_id, r.label, t.{column} AS day, t.amount, t.excluded, {corrected} AS corrected
                   FROM {table} t JOIN (VALUES {values}) AS r (label, start, stop)
                   ON t.{column} >= r.start AND t.{column} < r.stop
                   WHERE {within}"""
            ).format(
                column=sql.Identifier(column),
                table=sql.Identifier(table),
                values=values,
                within=within,
                corrected=sql.SQL(corrected),
            )
        )
    return sql.SQL(" UNION ALL ").join(parts)


# --- indicators -------------------------------------------------------------------------------------------


async def institutions(
    conn: AsyncConnection, scope: Scope, filters: Filters
) -> list[tuple[str, str, str, str, str | None, bool]]:
    """The institutions selected, as (id, name, organisation_id, category, district, key_energy_unit), in name
    order."""
    cur = await conn.execute(
        sql.SQL(
            "SELECT i.id, i.name, i.organisation_id, i.category, i.district, i.key_energy_unit "
            "FROM institution i WHERE {} ORDER BY i.name, i.id"
        ).format(filters.conditions(scope))
    )
    return await cur.fetchall()


async def denominators(
    conn: AsyncConnection, ids: list[str], years: Iterable[int]
) -> list[tuple[str, int, Decimal | None, int | None]]:
    """The stated (institution_id, year, floor area in m², headcount) of these institutions in these years."""
    cur = await conn.execute(
        """SELECT institution_id, year, floor_area_m2::numeric, headcount FROM institution_year
           WHERE institution_id = ANY(%s) AND year = ANY(%s)""",
        (ids, sorted(years)),
    )
    return await cur.fetchall()


async def sums(
    conn: AsyncConnection, scope: Scope, filters: Filters, periods: Iterable[tuple[Label, Period]]
) -> list[tuple[str, Label, str, str | None, str, bool, Decimal, Decimal, int]]:
    """Per institution selected, labelled period and meter kind, in one pass over the roll-up: (institution_id,
    label, energy_type, sub_item, unit, in_total, amount, excluded, corrected meter-days), amounts in the meters'
    unit."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT m.institution_id, s.label, m.energy_type, m.sub_item, m.unit, {in_total},
                      sum(s.amount), sum(s.excluded), sum(s.corrected)::integer
               FROM ({rows}) s
               JOIN meter m ON m.id = s.meter_id
               JOIN institution i ON i.id = m.institution_id
               WHERE {conditions}
               GROUP BY 1, 2, 3, 4, 5, 6"""
        ).format(rows=period_rows(periods), conditions=filters.conditions(scope), in_total=IN_TOTAL)
    )
    return await cur.fetchall()


async def meter_spans(
    conn: AsyncConnection, scope: Scope, filters: Filters
) -> list[tuple[str, str, date | None, date | None, datetime | None, datetime | None, list[datetime], list[datetime]]]:
    """Per meter of the selected institutions that counts in its institution's total: (institution_id, energy_type,
    installed_on, replaced_on, its first and last reading ever (`reading_span`), the starts and ends of its held
    gaps: `gap` deltas that staff have not decided). Whether they cover a period is domain/coverage.py's rule."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT m.institution_id, m.energy_type, m.installed_on, m.replaced_on, r.earliest, r.latest,
                      ARRAY(SELECT e.start FROM consumption_event e
                            WHERE e.meter_id = m.id AND e.change = 'gap' AND NOT EXISTS (
                                SELECT 1 FROM consumption_gap_decision g
                                WHERE g.meter_id = e.meter_id AND g.start = e.start AND g."end" = e."end")
                            ORDER BY e."end"),
                      ARRAY(SELECT e."end" FROM consumption_event e
                            WHERE e.meter_id = m.id AND e.change = 'gap' AND NOT EXISTS (
                                SELECT 1 FROM consumption_gap_decision g
                                WHERE g.meter_id = e.meter_id AND g.start = e.start AND g."end" = e."end")
                            ORDER BY e."end")
               FROM meter m JOIN institution i ON i.id = m.institution_id
               LEFT JOIN reading_span r ON r.meter_id = m.id
               WHERE {conditions} AND {in_total}"""
        ).format(conditions=filters.conditions(scope), in_total=IN_TOTAL)
    )
    return await cur.fetchall()


# --- series -----------------------------------------------------------------------------------------------


def _subject(scope: Scope, institution_id: str | None, meter_id: str | None) -> sql.Composable:
    conditions: list[sql.Composable] = [scope.condition("i.organisation_id")]
    if institution_id is not None:
        conditions.append(sql.SQL("i.id = {}").format(sql.Literal(institution_id)))
    if meter_id is not None:
        conditions.append(sql.SQL("m.id = {}").format(sql.Literal(meter_id)))
    return sql.SQL(" AND ").join(conditions)


async def visible(conn: AsyncConnection, scope: Scope, *, institution_id: str | None, meter_id: str | None) -> bool:
    """Whether the institution or meter (None: any) is among those the scope may see."""
    cur = await conn.execute(
        sql.SQL("SELECT count(*) FROM meter m RIGHT JOIN institution i ON i.id = m.institution_id WHERE {}").format(
            _subject(scope, institution_id, meter_id)
        )
    )
    found = await cur.fetchone()
    return not (found is None or found[0] == 0)


async def extent(conn: AsyncConnection, scope: Scope) -> tuple[date | None, date | None]:
    """The first and the last local day counted for any meter the scope may see (None, None: no day yet). Each
    meter's ends come from its key's index, so the cost is the meters', not their days'."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT min(first.day), max(last.day)
               FROM meter m JOIN institution i ON i.id = m.institution_id
               CROSS JOIN LATERAL (SELECT day FROM consumption_day WHERE meter_id = m.id ORDER BY day LIMIT 1) first
               CROSS JOIN LATERAL (SELECT day FROM consumption_day WHERE meter_id = m.id ORDER BY day DESC LIMIT 1)
                   last
               WHERE {}"""
        ).format(_subject(scope, None, None))
    )
    found = await cur.fetchone()
    return (None, None) if found is None else (found[0], found[1])


async def days(
    conn: AsyncConnection,
    scope: Scope,
    *,
    institution_id: str | None,
    meter_id: str | None,
    start: date,
    end: date,
) -> list[tuple[str, str | None, str, date, Decimal, list[Decimal], bool, bool]]:
    """The counted local days of [start, end) of the institution's meters or of the meter (None: any), as
    (energy_type, sub_item, unit, day, amount, hours, in_total, corrected), amounts in the meter's unit, `corrected`
    whether the day holds staff's correction."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT m.energy_type, m.sub_item, m.unit, d.day, d.amount, d.hours, {in_total}, d.original IS NOT NULL
               FROM consumption_day d JOIN meter m ON m.id = d.meter_id JOIN institution i ON i.id = m.institution_id
               WHERE d.day >= {} AND d.day < {} AND {}"""
        ).format(sql.Literal(start), sql.Literal(end), _subject(scope, institution_id, meter_id), in_total=IN_TOTAL)
    )
    return await cur.fetchall()


async def months(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, start: date, end: date
) -> list[tuple[date, str, str, Decimal, int, str]]:
    """Per local month of [start, end) in month order, energy type, unit and institution: what the selected
    institutions' meters that count in their totals consumed, as (month, energy_type, unit, amount in that unit,
    corrected meter-days, institution_id)."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT date_trunc('month', s.day)::date, m.energy_type, m.unit, sum(s.amount),
                      sum(s.corrected)::integer, m.institution_id
               FROM ({}) s JOIN meter m ON m.id = s.meter_id JOIN institution i ON i.id = m.institution_id
               WHERE {} AND {}
               GROUP BY 1, 2, 3, 6 ORDER BY 1"""
        ).format(period_rows([("period", Period(start, end))]), filters.conditions(scope), IN_TOTAL)
    )
    return await cur.fetchall()


# --- anomalies --------------------------------------------------------------------------------------------


async def hourly_days(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, start: date, end: date, hourly: int
) -> list[tuple[str, str, str, str, str, date, list[Decimal]]]:
    """The days of [start, end) with at least `hourly` readings of the selected institutions' electricity and
    water meters that count in their totals, in meter and day order, as (institution_id, institution name,
    meter_id, energy_type, unit, day, hours), hours in the meter's unit."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT i.id, i.name, m.id, m.energy_type, m.unit, d.day, d.hours
               FROM consumption_day d JOIN meter m ON m.id = d.meter_id JOIN institution i ON i.id = m.institution_id
               WHERE m.energy_type IN ('electricity', 'water') AND d.readings >= {hourly} AND {in_total}
                 AND d.day >= {start} AND d.day < {end} AND {conditions}
               ORDER BY m.id, d.day"""
        ).format(
            hourly=sql.Literal(hourly),
            start=sql.Literal(start),
            end=sql.Literal(end),
            conditions=filters.conditions(scope),
            in_total=IN_TOTAL,
        )
    )
    return await cur.fetchall()


# --- data quality -----------------------------------------------------------------------------------------


async def meter_quality(
    conn: AsyncConnection,
    scope: Scope,
    filters: Filters,
    *,
    start: date,
    end: date,
    begin: datetime,
    stop: datetime,
    silent_since: datetime,
) -> list[
    tuple[
        str, str, str, str, date | None, int, datetime | None, int, Decimal, date | None, int, int, int, int, bool, int
    ]
]:
    """Per meter of the selected institutions, in institution and meter order: (meter_id, institution_id,
    energy_type, unit, installed_on, reading_interval_seconds, the time of its first reading when it has no
    installation date and its first reading is in [begin, stop), readings and excluded amount of the days
    [start, end), the last of those days with readings, rollovers, resets, jitter and implausible deltas ending in
    [begin, stop), whether it has a reading after `silent_since`, conflicting resends of readings in [begin, stop)
    (reading_conflict))."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT m.id, m.institution_id, m.energy_type, m.unit, m.installed_on, m.reading_interval_seconds,
                      -- Connected during the period: its first reading ever is in it. Only a meter without an
                      -- installation date needs it.
                      CASE WHEN m.installed_on IS NULL AND r.earliest >= {begin} AND r.earliest < {stop}
                           THEN r.earliest END,
                      coalesce(d.readings, 0), coalesce(d.excluded, 0), d.last_day,
                      coalesce(e.rollovers, 0), coalesce(e.resets, 0), coalesce(e.jitter, 0),
                      coalesce(e.implausible, 0), coalesce(r.latest > {silent_since}, false), coalesce(c.conflicts, 0)
               FROM meter m JOIN institution i ON i.id = m.institution_id
               LEFT JOIN (SELECT meter_id, sum(readings) AS readings, sum(excluded) AS excluded,
                                 max(day) FILTER (WHERE readings > 0) AS last_day
                          FROM consumption_day WHERE day >= {start} AND day < {end} GROUP BY meter_id) d
                      ON d.meter_id = m.id
               LEFT JOIN (SELECT meter_id,
                                 count(*) FILTER (WHERE change = 'rollover') AS rollovers,
                                 count(*) FILTER (WHERE change = 'reset') AS resets,
                                 count(*) FILTER (WHERE change = 'jitter') AS jitter,
                                 count(*) FILTER (WHERE change = 'implausible') AS implausible
                          FROM consumption_event WHERE "end" >= {begin} AND "end" < {stop} GROUP BY meter_id) e
                      ON e.meter_id = m.id
               LEFT JOIN reading_span r ON r.meter_id = m.id
               LEFT JOIN (SELECT meter_id, count(*) AS conflicts FROM reading_conflict
                          WHERE time >= {begin} AND time < {stop} GROUP BY meter_id) c
                      ON c.meter_id = m.id
               WHERE {conditions}
               ORDER BY m.institution_id, m.id"""
        ).format(
            # Literals, not parameters: the filters are literals, and a '%' in one would read as a placeholder.
            conditions=filters.conditions(scope),
            start=sql.Literal(start),
            end=sql.Literal(end),
            begin=sql.Literal(begin),
            stop=sql.Literal(stop),
            silent_since=sql.Literal(silent_since),
        )
    )
    return await cur.fetchall()


async def flagged(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, meter_id: str | None, start: datetime, end: datetime
) -> list[tuple[str, str, datetime, datetime, str, Decimal, Decimal, Decimal]]:
    """The deltas that were not plain rises ending in [start, end), of the meter (None: any) of the selected
    institutions, oldest first, at most 10,000: (meter_id, institution_id, start, end, change, before, after,
    amount)."""
    meter = sql.SQL("TRUE") if meter_id is None else sql.SQL("m.id = {}").format(sql.Literal(meter_id))
    cur = await conn.execute(
        sql.SQL(
            """SELECT e.meter_id, m.institution_id, e.start, e."end", e.change, e.before, e.after, e.amount
               FROM consumption_event e JOIN meter m ON m.id = e.meter_id JOIN institution i ON i.id = m.institution_id
               WHERE e."end" >= {start} AND e."end" < {end} AND {meter} AND {conditions}
               ORDER BY e."end", e.meter_id LIMIT 10000"""
        ).format(start=sql.Literal(start), end=sql.Literal(end), meter=meter, conditions=filters.conditions(scope))
    )
    return await cur.fetchall()


async def held_gaps(conn: AsyncConnection, scope: Scope, filters: Filters, *, start: datetime, end: datetime) -> int:
    """How many of the deltas `flagged` lists for [start, end) are gaps still held for staff (change 'gap', no
    decision on it: one excluded keeps its event), counted without its 10,000-row bound."""
    cur = await conn.execute(
        sql.SQL(
            """SELECT count(*)
               FROM consumption_event e JOIN meter m ON m.id = e.meter_id JOIN institution i ON i.id = m.institution_id
               WHERE e.change = 'gap' AND e."end" >= {start} AND e."end" < {end} AND {conditions}
                 AND NOT EXISTS (SELECT 1 FROM consumption_gap_decision g
                                 WHERE g.meter_id = e.meter_id AND g.start = e.start AND g."end" = e."end")"""
        ).format(start=sql.Literal(start), end=sql.Literal(end), conditions=filters.conditions(scope))
    )
    row = await cur.fetchone()
    assert row is not None  # count(*) always answers
    count: int = row[0]
    return count


async def conflicts(
    conn: AsyncConnection, scope: Scope, filters: Filters, *, meter_id: str | None, start: datetime, end: datetime
) -> list[tuple[str, str, datetime, float, float, int, datetime, datetime]]:
    """The readings of [start, end) resent with another register, of the meter (None: any) of the selected
    institutions, oldest first, at most 10,000: (meter_id, institution_id, time, stored_register, resent_register,
    resends, first_received_at, last_received_at)."""
    meter = sql.SQL("TRUE") if meter_id is None else sql.SQL("m.id = {}").format(sql.Literal(meter_id))
    cur = await conn.execute(
        sql.SQL(
            """SELECT c.meter_id, m.institution_id, c.time, c.stored_register, c.resent_register, c.resends,
                      c.first_received_at, c.last_received_at
               FROM reading_conflict c JOIN meter m ON m.id = c.meter_id JOIN institution i ON i.id = m.institution_id
               WHERE c.time >= {start} AND c.time < {end} AND {meter} AND {conditions}
               ORDER BY c.time, c.meter_id LIMIT 10000"""
        ).format(start=sql.Literal(start), end=sql.Literal(end), meter=meter, conditions=filters.conditions(scope))
    )
    return await cur.fetchall()
