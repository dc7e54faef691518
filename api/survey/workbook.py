"""The survey as sheets: each institution form (one row per institution and field, with the institution's name and
credit code, the row's code and unit, the quantity and the cost, and a note saying why a cell is empty), each
summary (one row per group and field, with how many reported of how many and who did not), and what of the forms is
not confirmed. Chinese headers by default, English on request."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from api.files.table import Column, Sheet
from domain.labels import Language
from domain.survey import (
    REASONS,
    FieldList,
    Form,
    FormRow,
    InstitutionForms,
    Row,
    Summary,
    SummaryGroup,
    SummaryRow,
)

# A summary's note names at most this many who did not report, then how many more.
MISSING_SHOWN: Final = 20

_ROW = (
    Column("code", "代码", "Code"),
    Column("item", "指标名称", "Item"),
)
_FORM = (
    Column("institution_id", "机构编号", "Institution id"),
    Column("institution", "机构名称", "Institution"),
    Column("credit_code", "统一社会信用代码", "Credit code"),
    Column("year", "年度", "Year", "integer"),
    *_ROW,
    Column("room", "机房", "Machine room"),
    Column("unit", "计量单位", "Unit"),
    Column("quantity", "实物量（数值）", "Quantity (value)", "decimal", decimals=2),
    Column("cost", "金额（元）", "Cost (yuan)", "decimal", decimals=2),
    Column("note", "说明", "Note"),
)
_SUMMARY = (
    Column("group", "分组代码", "Group"),
    Column("group_name", "分组名称", "Group name"),
    Column("year", "年度", "Year", "integer"),
    *_ROW,
    Column("unit", "计量单位", "Unit"),
    Column("quantity", "实物量（数值）", "Quantity (value)", "decimal", decimals=2),
    Column("reporting", "已填报", "Reporting", "integer"),
    Column("expected", "应填报", "Expected", "integer"),
    Column("cost", "金额（元）", "Cost (yuan)", "decimal", decimals=2),
    Column("cost_reporting", "已报金额", "Reporting a cost", "integer"),
    Column("note", "说明", "Note"),
)
_UNCONFIRMED = (
    Column("form", "表", "Form"),
    *_ROW,
    Column("unit", "计量单位", "Unit"),
    Column("asked", "本年填报", "Asked this year"),
    Column("confirmed", "已确认（来源）", "Confirmed (source)"),
    Column("unconfirmed", "未确认", "Not confirmed"),
)


def form_sheets(fields: FieldList, year: int, filled: Sequence[InstitutionForms], language: Language) -> list[Sheet]:
    """A sheet per institution form, under its caption (the form's title and year, who filled it), then the sheet of
    what is not confirmed."""
    if len(filled) == 1:
        one = filled[0].institution
        credit_code = one.credit_code or _text(language, "未填", "not given")
        who = _text(language, f"填报单位：{one.name}　统一社会信用代码：{credit_code}", f"Institution: {one.name}; "
                    f"credit code: {credit_code}")  # fmt: skip
    else:
        who = _text(
            language, f"填报单位：{len(filled)} 个机构（见各行）", f"Institutions: {len(filled)} (see each row)"
        )
    return [
        *(
            Sheet(
                form.key,
                form.zh,
                form.en,
                _FORM,
                _form_rows(form, year, filled, language),
                caption=(_title(language, form, year), who, _NUMBERS[language]),
            )
            for form in fields.forms
        ),
        unconfirmed_sheet(fields, year, language),
    ]


def summary_sheet(summary: Summary, year: int, groups: Sequence[SummaryGroup], language: Language) -> Sheet:
    """A summary under its caption: a row per group and field."""
    rule = _text(
        language,
        "汇总值为已填报者之和；“已填报/应填报”与说明列注明未填报者；无人填报则为空，不作 0",
        "Each figure is the sum of those that reported; 'Reporting'/'Expected' and the note name who did not; "
        "a figure nobody reported is empty, never 0",
    )
    return Sheet(
        summary.key,
        summary.zh,
        summary.en,
        _SUMMARY,
        _summary_rows(year, groups, language),
        caption=(_title(language, summary, year), rule, _NUMBERS[language]),
    )


# The official form numbers and row codes are not known (docs/survey.md): every caption says so.
_NUMBERS: Final[dict[Language, str]] = {
    "zh": "表号未确认；代码为本系统自编，来源与未确认项见“确认情况”",
    "en": "Form number not confirmed; the codes are Yiwang's own: see 'What is confirmed'",
}


def _title(language: Language, item: Form | Summary, year: int) -> str:
    return _text(language, f"{item.zh}（{year}年度）", f"{item.en} ({year})")


def unconfirmed_sheet(fields: FieldList, year: int, language: Language) -> Sheet:
    """Every form, row and revision with what confirms it and what is not confirmed."""

    def rows() -> Iterator[list[object]]:
        for revision in fields.revisions:
            yield [
                _text(language, "修订", "revision"),
                str(revision.year),
                revision.changes,
                "",
                "",
                revision.source,
                revision.unconfirmed or "",
            ]
        for form in fields.forms:
            yield [form.key, "", _name(language, form), "", "", form.confirmed or "", ""]
            for row in form.rows:
                yield [form.key, row.code, _name(language, row), row.unit, _asked(language, row, year), *_sources(row)]
        for summary in fields.summaries:
            yield [summary.key, "", _name(language, summary), "", "", summary.confirmed or "", ""]
        count = fields.count
        yield [
            "summary",
            count.code,
            _name(language, count),
            count.unit,
            "",
            count.confirmed or "",
            fields.summary_unconfirmed or "",
        ]

    return Sheet("unconfirmed", "确认情况", "What is confirmed", _UNCONFIRMED, rows())


def _form_rows(form: Form, year: int, filled: Sequence[InstitutionForms], language: Language) -> Iterator[list[object]]:
    for forms in filled:
        institution = forms.institution
        for own in forms.forms:
            if own.form.key != form.key:
                continue
            for cell in own.rows:
                yield [
                    institution.id,
                    institution.name,
                    institution.credit_code,
                    year,
                    cell.row.code,
                    _name(language, cell.row),
                    cell.room,
                    cell.row.unit,
                    cell.value,
                    cell.cost,
                    _form_note(cell, language),
                ]


def _summary_rows(year: int, groups: Sequence[SummaryGroup], language: Language) -> Iterator[list[object]]:
    for group in groups:
        for cell in group.rows:
            yield [
                group.key,
                group.zh if language == "zh" else group.en,
                year,
                cell.row.code,
                _name(language, cell.row),
                cell.row.unit,
                cell.value,
                cell.reporting,
                cell.expected,
                cell.cost,
                cell.cost_reporting if cell.row.cost is not None else None,
                _summary_note(cell, language),
            ]


def reason_text(reason: str, language: Language) -> str:
    zh, en = REASONS[reason]
    return zh if language == "zh" else en


def _form_note(cell: FormRow, language: Language) -> str:
    notes = []
    # Both empty for one reason, or a row without a cost (集中供暖费用, areas, counts): say it once, unqualified.
    if cell.reason is not None and (cell.row.cost is None or cell.reason == cell.cost_reason):
        notes.append(reason_text(cell.reason, language))
    else:
        if cell.reason is not None:
            notes.append(_text(language, "数值：", "value: ") + reason_text(cell.reason, language))
        if cell.cost_reason is not None:
            notes.append(_text(language, "金额：", "cost: ") + reason_text(cell.cost_reason, language))
    if cell.detail:
        notes.append(cell.detail)
    return _text(language, "；", "; ").join(notes)


def _summary_note(cell: SummaryRow, language: Language) -> str:
    notes = []
    if cell.reason is not None:
        notes.append(reason_text(cell.reason, language))
    elif cell.missing:
        notes.append(
            _text(language, "部分合计，未填报：", "partial sum, not reported by: ") + _who(cell.missing, language)
        )
    if cell.row.cost is not None and cell.cost_missing and cell.cost_reason is None:
        notes.append(
            _text(language, "金额部分合计，未报：", "cost partial, not reported by: ")
            + _who(cell.cost_missing, language)
        )
    elif cell.cost_reason is not None and cell.cost_reason != cell.reason:
        notes.append(_text(language, "金额：", "cost: ") + reason_text(cell.cost_reason, language))
    return _text(language, "；", "; ").join(notes)


def _who(missing: Sequence[str], language: Language) -> str:
    shown = ", ".join(missing[:MISSING_SHOWN])
    more = len(missing) - MISSING_SHOWN
    if more > 0:
        shown += _text(language, f" 等，另 {more} 个", f" and {more} more")
    return shown


def _asked(language: Language, row: Row, year: int) -> str:
    return _text(language, "是", "yes") if row.asked(year) else _text(language, "否", "no")


def _sources(row: Row) -> list[str]:
    return [row.confirmed or "", row.unconfirmed or ""]


def _name(language: Language, item: Row | Form | Summary) -> str:
    return item.zh if language == "zh" else item.en


def _text(language: Language, zh: str, en: str) -> str:
    return zh if language == "zh" else en
