"""The public-institution energy statistics survey (公共机构能源资源消费统计调查制度): its forms read from data
(survey_forms.toml beside this module), an institution's forms filled from its facts and declared figures, and the
summaries by supervising department, administrative area and category.

Missing is not zero. A row whose source holds nothing for the year is null with the reason. A summary's figure is
the sum of the institutions (or machine rooms) that reported it, shown with how many of how many reported and which
did not (`SummaryRow.reporting`, `.expected`, `.missing`): a partial sum is never passed off as the whole, and a sum
that nobody reported is null, not 0.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal, get_args

from domain.departments import descendants
from domain.measures import REPORT_UNIT

FormKind = Literal["institution", "rooms"]
SummaryBy = Literal["department", "division", "category"]
SUMMARIES: Final[tuple[SummaryBy, ...]] = get_args(SummaryBy)

# The institution_year columns of db/migrations/0005 and 0032 that a form row may name (fact:<column>).
FACT_COLUMNS: Final[frozenset[str]] = frozenset(
    {
        "floor_area_m2",
        "headcount",
        "staff_quota",
        "heated_area_m2",
        "cooled_area_m2",
        "heated_area_own_m2",
        "heated_area_central_area_m2",
        "heated_area_central_heat_m2",
        "heating_days",
        "hot_water_boiler_kw",
        "steam_boiler_t_h",
    }
)
# The data_centre_room columns a row may name (room:<column>).
ROOM_COLUMNS: Final[frozenset[str]] = frozenset(
    {
        "floor_area_m2",
        "racks",
        "it_power_kw",
        "cooling_power_kw",
        "distribution_power_kw",
        "electricity_kwh",
        "it_kwh",
        "cooling_kwh",
        "distribution_kwh",
    }
)
VehicleCount = Literal["total", "gasoline", "diesel", "new_energy"]
VEHICLE_COUNTS: Final[tuple[VehicleCount, ...]] = get_args(VehicleCount)
PURPOSES: Final[frozenset[str]] = frozenset({"building", "vehicle"})

# The survey's categories (institution_year.survey_category) and the summary's columns: 合计, 国家机关, 事业单位
# 小计 and its six fields, 团体组织.
SURVEY_CATEGORY: Final[Mapping[str, str]] = {
    "state_organ": "国家机关",
    "education": "教育",
    "science": "科技",
    "culture": "文化",
    "health": "卫生",
    "sports": "体育",
    "other_institution": "其他",
    "association": "团体组织",
}
_PUBLIC_INSTITUTIONS: Final = ("education", "science", "culture", "health", "sports", "other_institution")

# Why a cell is empty: (Chinese, English).
REASONS: Final[Mapping[str, tuple[str, str]]] = {
    "no_fact": ("名录库本年未填此项", "not in the registry's facts for the year"),
    "not_reported": ("本年无计量、账单或录入", "nothing reported for the year (no meter, bill or entry)"),
    "no_cost": ("本年未报费用", "no cost reported for the year"),
    "no_source": ("系统无此数据来源", "Yiwang has no source for this row"),
    "heating_not_entered": ("本年无此类采暖账单或录入", "no bill or entry of this type for heating in the year"),
    "heating_unmetered": (
        "以计量为准，计量不分采暖用量",
        "the meters count this type, and they do not tell heating's share",
    ),
    "part_missing": ("分项有缺，合计不明", "a part is missing, so the total is unknown"),
    "nobody_reported": ("无机构填报", "no institution reported it"),
    "nothing_to_add": ("无可汇总的机构或机房", "no institution or machine room to add up"),
}


class FormsError(ValueError):
    """The field list is not valid: what is wrong, and where."""


# ---------------------------------------------------------------------------------------------------------------
# The field list


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value comes from: `kind` (fact, count, vehicles, declared, heating, rooms, room, sum, none) and its
    argument (a column, an energy type, a count's name, the codes summed); `purpose` for declared figures (None:
    all)."""

    kind: str
    name: str = ""
    purpose: str | None = None
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a form, as the field list gives it."""

    code: str
    zh: str
    en: str
    unit: str
    value: Source
    cost: Source | None
    scale: Decimal
    since: int | None
    until: int | None
    reason: str | None
    confirmed: str | None
    unconfirmed: str | None

    def asked(self, year: int) -> bool:
        """Whether the survey of `year` asks for this row."""
        return (self.since is None or year >= self.since) and (self.until is None or year <= self.until)

    @property
    def per_room(self) -> bool:
        """Whether the row repeats for each machine room (a room column, or a sum of them)."""
        return self.value.kind in ("room", "sum")


@dataclass(frozen=True, slots=True)
class Form:
    key: str
    zh: str
    en: str
    kind: FormKind
    rows: tuple[Row, ...]
    confirmed: str | None

    def rows_of(self, year: int) -> tuple[Row, ...]:
        """The rows the survey of `year` asks for, in order."""
        return tuple(row for row in self.rows if row.asked(year))


@dataclass(frozen=True, slots=True)
class Summary:
    key: SummaryBy
    zh: str
    en: str
    confirmed: str | None


@dataclass(frozen=True, slots=True)
class Revision:
    year: int
    source: str
    changes: str
    unconfirmed: str | None


@dataclass(frozen=True, slots=True)
class FieldList:
    """The survey's forms: what `parse` reads from survey_forms.toml."""

    format: int
    revisions: tuple[Revision, ...]
    forms: tuple[Form, ...]
    summaries: tuple[Summary, ...]
    count: Row  # the summaries' count of institutions
    summary_codes: tuple[str, ...]  # the institution forms' rows that the summaries add up
    summary_unconfirmed: str | None

    def form(self, key: str) -> Form:
        for form in self.forms:
            if form.key == key:
                return form
        raise KeyError(key)

    def summary_rows(self, year: int) -> tuple[Row, ...]:
        """The rows the summaries of `year` add up, in the order the field list names them."""
        by_code = {row.code: row for form in self.forms for row in form.rows_of(year)}
        return tuple(by_code[code] for code in self.summary_codes if code in by_code)

    def revision(self, year: int) -> Revision | None:
        """The latest revision in force for the survey of `year`."""
        earlier = [r for r in self.revisions if r.year <= year]
        return max(earlier, key=lambda r: r.year) if earlier else None


def parse(text: str) -> FieldList:
    """The field list of a survey_forms.toml's text; FormsError says what is wrong (a source that does not parse, a
    column that is not one, a code asked twice in one year, a row neither confirmed nor marked unconfirmed...)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormsError(f"the field list is not TOML: {exc}") from exc
    forms = tuple(_form(f) for f in data.get("form", []))
    codes = {row.code for form in forms for row in form.rows}
    summaries = tuple(_summary(s) for s in data.get("summary", []))
    spec = data.get("summary_rows", {})
    count = spec.get("count", {})
    count_row = _row({**count, "value": "count:institutions"}, form="summary_rows")
    summary_codes = tuple(spec.get("rows", []))
    for code in summary_codes:
        if code not in codes:
            raise FormsError(f"summary_rows names {code!r}, which no form has")
    revisions = tuple(
        Revision(int(r["year"]), str(r["source"]), str(r["changes"]), r.get("unconfirmed"))
        for r in data.get("revision", [])
    )
    return FieldList(
        format=int(data.get("format", 0)),
        revisions=revisions,
        forms=forms,
        summaries=summaries,
        count=count_row,
        summary_codes=summary_codes,
        summary_unconfirmed=spec.get("unconfirmed"),
    )


def _get(table: Mapping[str, object], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise FormsError(f"{where}: {key!r} is required (a text)")
    return value


def _summary(data: Mapping[str, object]) -> Summary:
    key = _get(data, "key", "summary")
    for by in SUMMARIES:
        if by == key:
            confirmed = data.get("confirmed")
            return Summary(by, _get(data, "zh", key), _get(data, "en", key), str(confirmed) if confirmed else None)
    raise FormsError(f"summary {key!r}: one of {', '.join(SUMMARIES)}")


def _form(data: Mapping[str, object]) -> Form:
    key = _get(data, "key", "form")
    kind = data.get("kind")
    if kind not in ("institution", "rooms"):
        raise FormsError(f"form {key!r}: kind is 'institution' or 'rooms', not {kind!r}")
    raw_rows = data.get("row", [])
    assert isinstance(raw_rows, list)
    rows = tuple(_row(r, form=key) for r in raw_rows)
    for row in rows:
        if row.per_room and kind != "rooms":
            raise FormsError(f"form {key!r}, row {row.code}: room columns belong to a 'rooms' form")
        for other in rows:
            if other is not row and other.code == row.code and _overlap(row, other):
                raise FormsError(f"form {key!r}: row {row.code} is asked twice in one year (since/until overlap)")
        for part in row.value.parts:
            if not any(r.code == part for r in rows):
                raise FormsError(f"form {key!r}, row {row.code}: sums {part!r}, which is no row of the form")
    confirmed = data.get("confirmed")
    return Form(key, _get(data, "zh", key), _get(data, "en", key), kind, rows, str(confirmed) if confirmed else None)


def _overlap(a: Row, b: Row) -> bool:
    low = max(a.since or 0, b.since or 0)
    high = min(a.until or 9999, b.until or 9999)
    return low <= high


def _row(data: Mapping[str, object], *, form: str) -> Row:
    code = _get(data, "code", f"form {form!r}")
    where = f"form {form!r}, row {code}"
    value = _source(_get(data, "value", where), where)
    cost_text = data.get("cost")
    cost = None if cost_text is None else _source(str(cost_text), where)
    if cost is not None and cost.kind not in ("declared", "heating", "none"):
        raise FormsError(f"{where}: a cost comes from 'declared:...', 'heating:...' or 'none'")
    confirmed, unconfirmed = data.get("confirmed"), data.get("unconfirmed")
    if not confirmed and not unconfirmed:
        raise FormsError(f"{where}: say where it is confirmed ('confirmed') or what is not ('unconfirmed')")
    reason = data.get("reason")
    if value.kind == "none" and not reason:
        raise FormsError(f"{where}: a row with no source says why ('reason')")
    unit = data.get("unit", "")
    since, until = data.get("since"), data.get("until")
    return Row(
        code=code,
        zh=_get(data, "zh", where),
        en=_get(data, "en", where),
        unit=str(unit),
        value=value,
        cost=cost,
        scale=Decimal(str(data.get("scale", "1"))),
        since=int(str(since)) if since is not None else None,
        until=int(str(until)) if until is not None else None,
        reason=str(reason) if reason else None,
        confirmed=str(confirmed) if confirmed else None,
        unconfirmed=str(unconfirmed) if unconfirmed else None,
    )


def _source(text: str, where: str) -> Source:  # noqa: PLR0911 (one return per kind of source)
    kind, _, argument = text.partition(":")
    match kind:
        case "none":
            return Source("none")
        case "fact" if argument in FACT_COLUMNS:
            return Source("fact", argument)
        case "room" if argument in ROOM_COLUMNS:
            return Source("room", argument)
        case "rooms" if argument == "count":
            return Source("rooms", "count")
        case "count" if argument == "institutions":
            return Source("count", "institutions")
        case "vehicles" if argument in VEHICLE_COUNTS:
            return Source("vehicles", argument)
        case "declared":
            energy_type, _, purpose = argument.partition("/")
            if energy_type in REPORT_UNIT and (not purpose or purpose in PURPOSES):
                return Source("declared", energy_type, purpose or None)
        case "heating" if argument in REPORT_UNIT:
            return Source("heating", argument, "building")
        case "sum" if argument:
            return Source("sum", parts=tuple(argument.split(",")))
    raise FormsError(f"{where}: {text!r} is no source (docs/survey.md lists them)")


# ---------------------------------------------------------------------------------------------------------------
# The inputs


@dataclass(frozen=True, slots=True)
class Institution:
    """An institution as the survey of a year sees it: its identity and that year's facts (None where not given)."""

    id: str
    name: str
    organisation_id: str
    in_survey: bool | None
    credit_code: str | None = None
    department_id: str | None = None
    division_code: str | None = None
    category: str | None = None  # survey_category
    facts: Mapping[str, Decimal | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Room:
    """A data-centre machine room of an institution in the year."""

    institution_id: str
    name: str
    values: Mapping[str, Decimal | None]


@dataclass(frozen=True, slots=True)
class Figure:
    """What an institution consumed of one type for one purpose in the year (db.declared.Declared's figures):
    quantity in the type's report unit, cost in yuan; None where not reported. `source` is what counts the quantity
    ("meters", "entries", "fuel_statements"); `heating_quantity` and `heating_cost` the part of it entered for
    heating (采暖), None where none was (or, for the quantity, where the meters count: they do not tell it)."""

    institution_id: str
    energy_type: str
    purpose: str
    quantity: Decimal | None
    cost: Decimal | None
    source: str = ""
    heating_quantity: Decimal | None = None
    heating_cost: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    parent_id: str | None


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything the survey of a year reads, for the institutions of a scope."""

    year: int
    institutions: Sequence[Institution]
    rooms: Sequence[Room] = ()
    figures: Sequence[Figure] = ()
    vehicles: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # institution -> count name -> n
    departments: Sequence[Department] = ()


def surveyed(institutions: Iterable[Institution]) -> list[Institution]:
    """The institutions the survey covers: those in the registry (名录库, `in_survey`) for the year. An institution
    whose year says nothing is not in it."""
    return [i for i in institutions if i.in_survey is True]


# ---------------------------------------------------------------------------------------------------------------
# An institution's forms


@dataclass(frozen=True, slots=True)
class FormRow:
    """One filled row: its value and cost (None when the row has no cost or nothing was reported) and why each is
    empty (a key of REASONS; `detail` adds the field list's own reason)."""

    row: Row
    room: str | None
    value: Decimal | None
    cost: Decimal | None
    reason: str | None = None
    cost_reason: str | None = None

    @property
    def detail(self) -> str | None:
        return self.row.reason if "no_source" in (self.reason, self.cost_reason) else None


@dataclass(frozen=True, slots=True)
class FilledForm:
    form: Form
    rows: tuple[FormRow, ...]


@dataclass(frozen=True, slots=True)
class InstitutionForms:
    institution: Institution
    forms: tuple[FilledForm, ...]


def fill(fields: FieldList, inputs: Inputs) -> list[InstitutionForms]:
    """Every surveyed institution's forms for the year, in the order of their ids."""
    figures: dict[str, dict[tuple[str, str], Figure]] = {}
    for f in inputs.figures:
        figures.setdefault(f.institution_id, {})[(f.energy_type, f.purpose)] = f
    rooms: dict[str, list[Room]] = {}
    for room in sorted(inputs.rooms, key=lambda r: r.name):
        rooms.setdefault(room.institution_id, []).append(room)
    out = []
    for institution in sorted(surveyed(inputs.institutions), key=lambda i: i.id):
        own = _Own(
            institution,
            figures.get(institution.id, {}),
            rooms.get(institution.id, []),
            inputs.vehicles.get(institution.id, {}),
        )
        filled = tuple(FilledForm(form, _fill_form(form, inputs.year, own)) for form in fields.forms)
        out.append(InstitutionForms(institution, filled))
    return out


@dataclass(frozen=True, slots=True)
class _Own:
    institution: Institution
    figures: Mapping[tuple[str, str], Figure]
    rooms: Sequence[Room]
    vehicles: Mapping[str, int]


def _fill_form(form: Form, year: int, own: _Own) -> tuple[FormRow, ...]:
    rows = form.rows_of(year)
    out = [_fill_row(row, own, None) for row in rows if not row.per_room]
    for room in own.rooms:
        filled: dict[str, FormRow] = {}
        for row in rows:
            if row.value.kind == "room":
                filled[row.code] = _fill_row(row, own, room)
        for row in rows:
            if row.value.kind == "sum":
                filled[row.code] = _sum_row(row, room, [filled.get(code) for code in row.value.parts])
        out += [filled[row.code] for row in rows if row.per_room]
    return tuple(out)


def _fill_row(row: Row, own: _Own, room: Room | None) -> FormRow:
    value, reason = _value(row, row.value, own, room, cost=False)
    cost, cost_reason = (None, None) if row.cost is None else _value(row, row.cost, own, room, cost=True)
    return FormRow(row, room.name if room else None, value, cost, reason, cost_reason)


def _value(row: Row, source: Source, own: _Own, room: Room | None, *, cost: bool) -> tuple[Decimal | None, str | None]:
    match source.kind:
        case "fact":
            got = own.institution.facts.get(source.name)
            return (None, "no_fact") if got is None else (got * row.scale, None)
        case "room":
            assert room is not None
            got = room.values.get(source.name)
            return (None, "no_fact") if got is None else (got * row.scale, None)
        case "rooms":
            return Decimal(len(own.rooms)), None
        case "vehicles":
            return Decimal(own.vehicles.get(source.name, 0)), None
        case "declared" | "heating":
            consumed = _heating if source.kind == "heating" else _declared
            return consumed(row, source, own, cost=cost)
        case _:  # none (count and sum are filled elsewhere)
            return None, "no_source"


def _declared(row: Row, source: Source, own: _Own, *, cost: bool) -> tuple[Decimal | None, str | None]:
    purposes = (source.purpose,) if source.purpose else sorted(PURPOSES)
    found = [own.figures[(source.name, p)] for p in purposes if (source.name, p) in own.figures]
    if not found:
        return None, "not_reported"
    amounts = [f.cost if cost else f.quantity for f in found]
    known = [a for a in amounts if a is not None]
    if not known:
        return None, "no_cost" if cost else "not_reported"
    if len(known) < len(amounts):
        # A row of every purpose (电, 汽油) with one part unknown: the sum of the rest would pass for the whole.
        return None, "part_missing"
    total = sum(known, Decimal(0))
    return (total, None) if cost else (total * row.scale, None)


def _heating(row: Row, source: Source, own: _Own, *, cost: bool) -> tuple[Decimal | None, str | None]:
    """Heating's share of a building's type (the heating form's consumption rows): what entries for heating say.
    Where the meters count the type, its heating quantity is unknown (they measure the whole), never zero."""
    figure = own.figures.get((source.name, "building"))
    if figure is None:
        return None, "not_reported"
    amount = figure.heating_cost if cost else figure.heating_quantity
    if amount is not None:
        return (amount, None) if cost else (amount * row.scale, None)
    if cost and figure.heating_quantity is not None:
        return None, "no_cost"
    if not cost and figure.source == "meters":
        return None, "heating_unmetered"
    return None, "heating_not_entered"


def _sum_row(row: Row, room: Room, parts: Sequence[FormRow | None]) -> FormRow:
    values = [p.value if p else None for p in parts]
    if any(v is None for v in values):
        return FormRow(row, room.name, None, None, "part_missing")
    return FormRow(row, room.name, sum((v for v in values if v is not None), Decimal(0)) * row.scale, None)


# ---------------------------------------------------------------------------------------------------------------
# The summaries


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One row of a summary: the sum of what was reported, how many contributors (institutions, or machine rooms for
    a room's row) reported it of how many, and which did not ("institution" or "institution/room"). Value and cost
    are None when nobody reported them; `complete` says whether the sum covers every contributor."""

    row: Row
    expected: int
    value: Decimal | None
    reporting: int
    missing: tuple[str, ...]
    cost: Decimal | None = None
    cost_reporting: int = 0
    cost_missing: tuple[str, ...] = ()
    reason: str | None = None
    cost_reason: str | None = None

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True, slots=True)
class SummaryGroup:
    """One column of a summary form (a department with those under it, a division, a category) and its rows."""

    key: str
    zh: str
    en: str
    institutions: tuple[str, ...]
    rows: tuple[SummaryRow, ...]


def summarise(
    fields: FieldList, inputs: Inputs, filled: Sequence[InstitutionForms], by: SummaryBy
) -> list[SummaryGroup]:
    """The summary of the year's filled forms by supervising department (each department with every department
    under it), by division code, or by category (合计, 国家机关, 事业单位 小计 and its six fields, 团体组织)."""
    rows = fields.summary_rows(inputs.year)
    # Each institution's cells by row code, once: a summary reads every row of every institution for each group.
    by_id: dict[str, dict[str, list[tuple[str, FormRow]]]] = {}
    for f in filled:
        cells = by_id.setdefault(f.institution.id, {})
        for form in f.forms:
            for cell in form.rows:
                who = f.institution.id if cell.room is None else f"{f.institution.id}/{cell.room}"
                cells.setdefault(cell.row.code, []).append((who, cell))
    groups: list[tuple[str, str, str, list[str]]]
    if by == "department":
        groups = _by_department(inputs.departments, [f.institution for f in filled])
    elif by == "division":
        groups = _by_division([f.institution for f in filled])
    else:
        groups = _by_category([f.institution for f in filled])
    return [
        SummaryGroup(
            key, zh, en, tuple(members), (_count(fields.count, members), *(_add(row, members, by_id) for row in rows))
        )
        for key, zh, en, members in groups
    ]


def _count(row: Row, members: Sequence[str]) -> SummaryRow:
    return SummaryRow(row, len(members), Decimal(len(members)), len(members), ())


def _add(row: Row, members: Sequence[str], filled: Mapping[str, Mapping[str, list[tuple[str, FormRow]]]]) -> SummaryRow:
    cells = [cell for institution_id in members for cell in filled[institution_id].get(row.code, [])]
    if not cells:
        return SummaryRow(row, 0, None, 0, (), reason="nothing_to_add", cost_reason="nothing_to_add")
    value, reporting, missing, reason = _total([(who, c.value) for who, c in cells])
    result = SummaryRow(row, len(cells), value, reporting, missing, reason=reason)
    if row.cost is None:
        return result
    cost, cost_reporting, cost_missing, cost_reason = _total([(who, c.cost) for who, c in cells])
    return SummaryRow(
        row, len(cells), value, reporting, missing, cost, cost_reporting, cost_missing, reason, cost_reason
    )


def _total(values: Sequence[tuple[str, Decimal | None]]) -> tuple[Decimal | None, int, tuple[str, ...], str | None]:
    known = [v for _, v in values if v is not None]
    missing = tuple(who for who, v in values if v is None)
    if not known:
        return None, 0, missing, "nobody_reported"
    return sum(known, Decimal(0)), len(known), missing, None


def _by_department(
    departments: Sequence[Department], institutions: Sequence[Institution]
) -> list[tuple[str, str, str, list[str]]]:
    groups = []
    # Depth first from the top, children by id: a department's row comes before those under it.
    children: dict[str | None, list[Department]] = {}
    known = {d.id for d in departments}
    for d in departments:
        parent = d.parent_id if d.parent_id in known else None
        children.setdefault(parent, []).append(d)
    order: list[Department] = []
    seen: set[str] = set()
    # Departments under each other in a cycle (bad data) have no top: each is walked from in turn after the others,
    # so that no department, and none of its institutions, is left out of the summary.
    for top in [*sorted(children.get(None, []), key=lambda d: d.id), *sorted(departments, key=lambda d: d.id)]:
        todo = [top]
        while todo:
            d = todo.pop()
            if d.id in seen:
                continue
            seen.add(d.id)
            order.append(d)
            todo += sorted(children.get(d.id, []), key=lambda c: c.id, reverse=True)
    # domain/departments.py's walk, the registry's own: a cycle in the data ends it rather than looping.
    below = descendants((d.id, d.parent_id) for d in departments)
    for d in order:
        under = below[d.id] | {d.id}
        members = [i.id for i in institutions if i.department_id in under]
        groups.append((d.id, d.name, d.name, members))
    orphans = [i.id for i in institutions if i.department_id is None or i.department_id not in known]
    if orphans:
        groups.append(("none", "未填主管部门", "No supervising department", orphans))
    return groups


def _by_division(institutions: Sequence[Institution]) -> list[tuple[str, str, str, list[str]]]:
    codes = sorted({i.division_code for i in institutions if i.division_code is not None})
    groups = [(code, code, code, [i.id for i in institutions if i.division_code == code]) for code in codes]
    orphans = [i.id for i in institutions if i.division_code is None]
    if orphans:
        groups.append(("none", "未填行政区划", "No division code", orphans))
    return groups


def _by_category(institutions: Sequence[Institution]) -> list[tuple[str, str, str, list[str]]]:
    def of(*categories: str) -> list[str]:
        return [i.id for i in institutions if i.category in categories]

    english = {
        "state_organ": "State organs",
        "education": "Education",
        "science": "Science",
        "culture": "Culture",
        "health": "Health",
        "sports": "Sports",
        "other_institution": "Other",
        "association": "Associations",
    }
    groups = [
        ("total", "合计", "Total", [i.id for i in institutions]),
        ("state_organ", SURVEY_CATEGORY["state_organ"], english["state_organ"], of("state_organ")),
        ("public_institution", "事业单位小计", "Public institutions, subtotal", of(*_PUBLIC_INSTITUTIONS)),
        *((c, SURVEY_CATEGORY[c], english[c], of(c)) for c in _PUBLIC_INSTITUTIONS),
        ("association", SURVEY_CATEGORY["association"], english["association"], of("association")),
    ]
    orphans = [i.id for i in institutions if i.category is None]
    if orphans:
        # In the total, in no column: the file says so rather than guessing a category.
        groups.append(("none", "未填类别（仅计入合计）", "No category (in the total only)", orphans))
    return groups
