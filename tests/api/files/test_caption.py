"""A sheet's caption: lines above its header in XLSX (a form's title, who filled it), the header frozen and filtered
below them, the chart reading the rows under the header; CSV leaves the caption out."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from openpyxl.chart import BarChart

from api.files.table import Chart, Column, Sheet
from api.files.workbook import write_csv, write_xlsx

COLUMNS = (Column("code", "代码", "Code"), Column("quantity", "实物量", "Quantity", "decimal"))


def _sheet() -> Sheet:
    return Sheet(
        "energy",
        "能源消费",
        "Energy",
        COLUMNS,
        [("E01", 22500), ("E02", 27)],
        chart=Chart("bar", "code", ["quantity"], "消费", "Consumption"),
        caption=("公共机构能源资源消费状况（2025年度）", "填报单位：甲局　统一社会信用代码：913601007055123456"),
    )


def test_the_caption_comes_above_the_header_which_stays_frozen_and_filtered_with_the_chart_on_the_rows() -> None:
    target = io.BytesIO()
    write_xlsx([_sheet()], target)
    sheet = load_workbook(io.BytesIO(target.getvalue())).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows == [
        ["公共机构能源资源消费状况（2025年度）", None],
        ["填报单位：甲局　统一社会信用代码：913601007055123456", None],
        ["代码", "实物量"],
        ["E01", 22500],
        ["E02", 27],
    ]
    assert sheet["A1"].font.b
    assert not sheet["A2"].font.b
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:B5"
    [chart] = sheet._charts  # openpyxl keeps a loaded sheet's charts there
    assert isinstance(chart, BarChart)
    [series] = chart.series
    assert series.val.numRef.f == "'能源消费'!$B$4:$B$5"
    assert series.tx.strRef.f == "'能源消费'!B3"  # named by its header


def test_csv_leaves_the_caption_out() -> None:
    target = io.StringIO(newline="")
    write_csv(_sheet(), target)
    assert target.getvalue().splitlines() == ["code,quantity", "E01,22500", "E02,27"]
