"""How a file was made: its provenance, written into every export so that a figure carried away still says where it
came from. What the file is, its period (start, end exclusive, as the query had them), the time zone of its local
days, the filters and the scope, the factor versions applied with their sources and use, a data-quality summary,
who made it (name, role, unit) and when (with the offset), and the Yiwang version.

One block, two forms:

- XLSX: a sheet of its own, 说明 / "About this file", last in the workbook (a registry import reads the first sheet);
- CSV: comment lines before the header row, each a record whose first cell starts with '#': `#key,label,value`.
  That is the default dialect of W3C's "CSV on the Web" (commentPrefix '#', the header is the first row that is not
  a comment), which pandas reads with `comment="#"`, R with `comment.char = "#"`. Since pandas also cuts a line at
  an unquoted '#' mid-line, a data cell holding one is written quoted (`csv_line`). `provenance=false` leaves the
  block out, for readers that skip no lines; a registry import skips the block (api/registry/spreadsheets.py).

Values go through the same guards as any cell: in CSV text a spreadsheet would run as a formula gets its apostrophe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import metadata
from typing import Final

from psycopg import AsyncConnection
from pydantic import BaseModel, Field

from api.access.rules import SCOPED_ROLES, Principal
from api.files.table import Column, Sheet
from api.reads import PRIMARY, Source
from db import reports as reports_db
from domain.labels import Language
from yiwang.settings import Settings

COMMENT: Final = "#"  # the first character of a CSV's provenance lines
KEY: Final = "provenance"  # the sheet's key

_COLUMNS = (
    Column("item", "项目", "Item"),
    Column("value", "内容", "Value"),
    Column("key", "键", "Key"),
)


class ProvenanceForm(BaseModel):
    """Whether a CSV carries its provenance; a mixin of a CSV export's query."""

    provenance: bool = Field(
        default=True,
        description="start with '#' comment lines saying how the file was made (period, time zone, factors, data "
        "quality, user, time); false: the header row first, for readers that cannot skip comment lines",
    )


@dataclass(frozen=True, slots=True)
class Line:
    """One item of the block: a stable key, its label in each language, its value in each language."""

    key: str
    zh: str
    en: str
    value_zh: str
    value_en: str

    def label(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en

    def value(self, language: Language) -> str:
        return self.value_zh if language == "zh" else self.value_en


@dataclass(frozen=True, slots=True)
class FactorUsed:
    """A factor version a file's figures were computed with."""

    kind: str  # standard_coal | carbon
    version: str
    title: str
    source: str
    published_on: date | None
    intended_use: str | None
    region: str | None = None  # carbon: the region asked for
    electricity_year: int | None = None  # carbon: the year of the electricity factor applied


@dataclass(frozen=True, slots=True)
class QualitySummary:
    """What an energy file's figures rest on, summed over the meters of its query (GET /energy/quality, and the held
    gaps of GET /energy/flagged)."""

    meters: int  # meters of the institutions selected
    meters_reporting: int  # of them, those with a reading in the period
    readings: int
    expected: int
    completeness: Decimal | None  # readings over expected (at most 1); None when none expected
    silent_meters: int
    held_gaps: int  # deltas over a gap longer than energy_max_gap_days, held in no day for staff to decide
    implausible: int
    conflicts: int


@dataclass(frozen=True, slots=True)
class Provenance:
    """The block of one file, in order."""

    lines: Sequence[Line]


def _same(key: str, zh: str, en: str, value: object) -> Line:
    return Line(key, zh, en, _text(value), _text(value))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@cache
def yiwang_version() -> str:
    """The installed Yiwang's version, as its package states it."""
    try:
        return metadata.version("yiwang")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


async def made(
    conn: AsyncConnection,
    user: Principal,
    settings: Settings,
    *,
    what: tuple[str, str],
    start: date | None = None,
    end: date | None = None,
    year: int | None = None,
    filters: Mapping[str, object] | None = None,
    factors: Iterable[FactorUsed] = (),
    quality: QualitySummary | None = None,
    source: Source = PRIMARY,
) -> Provenance:
    """The provenance of a file made now by `user`.

    Args:
        what: what the file is, in Chinese and English.
        start, end: the period, as the query had it (end exclusive); None for a file of no period.
        year: the year of a registry file's figures (floor area, headcount).
        filters: the query's filters, by parameter name; those that are None are left out.
        factors: the factor versions applied.
        quality: the data-quality summary of the period.
        source: where the figures were read (api/reads.py): from the read replica, the file says so and as of when.

    The time of making is shown in the city's zone with its offset, to the second.
    """
    zone = settings.zone
    made_at = datetime.now(zone).replace(microsecond=0)
    lines = [Line("file", "文件", "File", *what)]
    if start is not None and end is not None:
        lines += [
            _same("period_start", "统计期起", "Period start", start),
            _same("period_end", "统计期止（不含当日）", "Period end (exclusive)", end),
        ]
    if year is not None:
        lines.append(_same("year", "年度", "Year", year))
    offset = made_at.strftime("%z")
    lines.append(
        _same(
            "time_zone",
            "时区（本地日所用）",
            "Time zone (of local days)",
            f"{settings.time_zone} (UTC{offset[:3]}:{offset[3:]})",
        )
    )
    given = {k: v for k, v in (filters or {}).items() if v is not None}
    lines.append(
        Line(
            "filters",
            "筛选条件",
            "Filters",
            "；".join(f"{k}={_text(v)}" for k, v in given.items()) or "无",
            "; ".join(f"{k}={_text(v)}" for k, v in given.items()) or "none",
        )
    )
    for factor in factors:
        lines += _factor_lines_of(factor)
    if quality is not None:
        lines += _quality_lines(quality)
    lines += await _user_lines(conn, user)
    if source.as_of is not None:
        # Figures of a replica are those of its last replayed commit: say so beside the time of making.
        lines += [
            Line("read_from", "数据来源", "Read from", "只读副本", "read replica"),
            _same("data_as_of", "数据截至", "Data as of", source.as_of.astimezone(zone).replace(microsecond=0)),
        ]
    lines += [
        _same("made_at", "制表时间", "Made at", made_at),
        _same("yiwang_version", "软件版本（Yiwang）", "Yiwang version", yiwang_version()),
    ]
    return Provenance(tuple(lines))


_KIND = {"standard_coal": ("折标准煤系数", "Standard-coal factors"), "carbon": ("碳排放因子", "Carbon factors")}


def _factor_lines_of(factor: FactorUsed) -> list[Line]:
    zh, en = _KIND.get(factor.kind, (factor.kind, factor.kind))
    k = factor.kind
    lines = [
        _same(f"{k}_version", f"{zh}版本", f"{en}: version", factor.version),
        _same(f"{k}_title", f"{zh}名称与方法", f"{en}: title and method", factor.title),
        _same(f"{k}_source", f"{zh}来源", f"{en}: source", factor.source),
        _same(f"{k}_published_on", f"{zh}发布日期", f"{en}: published on", factor.published_on),
        _same(f"{k}_intended_use", f"{zh}适用范围", f"{en}: intended use", factor.intended_use),
    ]
    if factor.region is not None:
        lines.append(_same(f"{k}_region", f"{zh}地区", f"{en}: region", factor.region))
    if factor.electricity_year is not None:
        lines.append(
            _same(f"{k}_electricity_year", f"{zh}（电力）年份", f"{en}: electricity's year", factor.electricity_year)
        )
    return lines


def _quality_lines(q: QualitySummary) -> list[Line]:
    return [
        _same("meters", "计量表（应报）", "Meters (expected to report)", q.meters),
        _same("meters_reporting", "计量表（期内有读数）", "Meters reporting in the period", q.meters_reporting),
        _same("readings", "实收读数", "Readings received", q.readings),
        _same("readings_expected", "应收读数", "Readings expected", q.expected),
        _same("completeness", "完整率（实收/应收）", "Completeness (received / expected)", q.completeness),
        _same("silent_meters", "离线计量表", "Silent meters", q.silent_meters),
        _same("held_gaps", "待处理的长间隔（未分摊）", "Held gaps (unapportioned)", q.held_gaps),
        _same("implausible_deltas", "异常增量", "Implausible deltas", q.implausible),
        _same("conflicts", "重发不一致", "Conflicting resends", q.conflicts),
    ]


async def _user_lines(conn: AsyncConnection, user: Principal) -> list[Line]:
    if user.role in SCOPED_ROLES:
        names = await reports_db.organisations(conn, sorted(user.organisations))
        units = [f"{names[o][0] if o in names else o} ({o})" for o in sorted(user.organisations)]
        unit_zh, unit_en = "；".join(units), "; ".join(units)
    else:
        unit_zh, unit_en = "全部单位", "all organisations"
    return [
        _same("made_by", "制表人", "Made by", user.name),
        _same("made_by_role", "制表人角色", "Role", user.role),
        Line("made_by_unit", "制表人单位", "Unit", unit_zh, unit_en),
    ]


def sheet(provenance: Provenance, language: Language) -> Sheet:
    """The block as the workbook's last sheet."""
    return Sheet(
        KEY,
        "说明",
        "About this file",
        _COLUMNS,
        ((line.label(language), line.value(language), line.key) for line in provenance.lines),
    )


def comment_records(provenance: Provenance, language: Language) -> Iterator[list[str]]:
    """The block as CSV records before the header: `#key`, the label, the value (not yet guarded or quoted).

    A value is kept on one line (a line break becomes a space), so that each record is one line starting with '#'.
    """
    for line in provenance.lines:
        value = " ".join(line.value(language).splitlines())
        yield [COMMENT + line.key, line.label(language), value]
