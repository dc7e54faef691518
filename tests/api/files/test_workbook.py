"""Exports: XLSX read back with openpyxl as Excel would see it, CSV read back with the csv module, and rows
streamed rather than held."""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from api.files import workbook
from api.files.table import Chart, ChartKind, Column, Sheet
from api.files.workbook import (
    WIDTH_SAMPLE,
    csv_chunks,
    file_chunks,
    sheet_name,
    spool_xlsx,
    write_csv,
    write_xlsx,
    xlsx_chunks,
)
from domain.labels import Language

INSTITUTIONS = (
    Column("institution", "单位名称", "Institution"),
    Column("floor_area_m2", "建筑面积（m²）", "Floor area (m²)", "decimal", decimals=1),
    Column("headcount", "用能人数", "Headcount", "integer"),
    Column("electricity_kwh", "用电量（kWh）", "Electricity (kWh)", "decimal"),
    Column("energy_kgce", "综合能耗（kgce）", "Comprehensive energy (kgce)", "decimal", decimals=3),
    Column("change", "同比", "Year on year", "percent"),
    Column("reported_on", "填报日期", "Reported on", "date"),
)
INSTITUTION_ROWS = (
    (
        "市机关事务管理局",
        Decimal("12500.5"),
        320,
        Decimal("1234567.89"),
        Decimal("151728.3"),
        Decimal("-0.052"),
        date(2025, 1, 15),
    ),
    ("第一人民医院", Decimal("86000"), 2100, Decimal("9876543.21"), Decimal("1213827.16"), 0.031, date(2025, 1, 20)),
    ("实验小学", None, 95, Decimal("0.5"), Decimal("0.061"), None, None),
)
MONTHS = (
    Column("month", "月份", "Month", "month"),
    Column("electricity_kwh", "用电量（kWh）", "Electricity (kWh)", "decimal"),
    Column("water_m3", "用水量（m³）", "Water (m³)", "decimal"),
)
MONTH_ROWS = (
    (date(2025, 1, 1), Decimal("812345.6"), Decimal("10234.5")),
    (date(2025, 2, 17), Decimal("790001.25"), Decimal("9876")),
    (date(2025, 3, 1), Decimal("801000"), Decimal("10001.75")),
)


def institutions() -> Sheet:
    return Sheet("institutions", "单位能耗", "Institutions", INSTITUTIONS, INSTITUTION_ROWS)


def months(kind: ChartKind = "bar") -> Sheet:
    chart = Chart(kind, "month", ["electricity_kwh", "water_m3"], "逐月用能", "By month")
    return Sheet("months", "逐月", "By month", MONTHS, MONTH_ROWS, chart)


def read_back(sheets: Sequence[Sheet], language: Language = "zh") -> Workbook:
    """The workbook as openpyxl reads it in full (read-only mode does not load charts)."""
    target = io.BytesIO()
    write_xlsx(sheets, target, language=language)
    target.seek(0)
    return load_workbook(target)


def values(ws: Worksheet) -> list[list[object]]:
    return [[cell.value for cell in row] for row in ws.iter_rows(min_row=2)]


@pytest.mark.parametrize(
    ("language", "names", "header", "chart_title"),
    [
        ("zh", ["单位能耗", "逐月"], ["单位名称", "建筑面积（m²）", "用能人数"], "逐月用能"),
        ("en", ["Institutions", "By month"], ["Institution", "Floor area (m²)", "Headcount"], "By month"),
    ],
)
def test_a_workbook_has_headers_names_and_charts_in_its_language(
    language: Language, names: list[str], header: list[str], chart_title: str
) -> None:
    book = read_back([institutions(), months()], language)

    assert book.sheetnames == names
    table, by_month = book.worksheets
    assert [cell.value for cell in table[1]][:3] == header
    assert all(cell.font.b for cell in table[1])
    assert (len(table._charts), len(by_month._charts)) == (0, 1)
    chart = by_month._charts[0]
    assert isinstance(chart, BarChart)
    assert "".join(run.t for run in chart.title.tx.rich.p[0].r) == chart_title
    # Each series is named by its header cell (in the workbook's language) and spans exactly the rows written.
    quoted = f"'{names[1]}'"
    assert [series.tx.strRef.f for series in chart.series] == [f"{quoted}!B1", f"{quoted}!C1"]
    assert [series.val.numRef.f for series in chart.series] == [f"{quoted}!$B$2:$B$4", f"{quoted}!$C$2:$C$4"]
    assert chart.series[0].cat.numRef.f == f"{quoted}!$A$2:$A$4"
    assert chart.x_axis.delete is False
    assert chart.y_axis.delete is False


def test_a_sheet_is_frozen_filtered_and_formatted_by_column_kind() -> None:
    book = read_back([institutions(), months()])
    table, by_month = book.worksheets

    assert (table.freeze_panes, by_month.freeze_panes) == ("A2", "A2")
    assert (table.auto_filter.ref, by_month.auto_filter.ref) == ("A1:G4", "A1:C4")
    assert [cell.number_format for cell in table[2]] == [
        "General",
        "#,##0.0",
        "#,##0",
        "#,##0.00",
        "#,##0.000",
        "0.0%",
        "yyyy-mm-dd",
    ]
    assert [cell.number_format for cell in by_month[2]] == ["yyyy-mm", "#,##0.00", "#,##0.00"]


def test_values_read_back_as_given_with_decimals_as_numbers() -> None:
    book = read_back([institutions(), months()])
    table, by_month = book.worksheets

    assert table["D2"].data_type == "n"
    assert isinstance(table["D2"].value, float)
    expected = [
        [None if value is None else float(value) if isinstance(value, Decimal | float) else value for value in row]
        for row in INSTITUTION_ROWS
    ]
    # Excel stores dates as day numbers; openpyxl reads them back as midnight datetimes.
    got = [[v.date() if isinstance(v, datetime) else v for v in row] for row in values(table)]
    assert got == expected
    # A month is the first day of its month, whatever day was given.
    assert [row[0] for row in values(by_month)] == [datetime(2025, m, 1) for m in (1, 2, 3)]


def test_a_line_chart_is_native_too() -> None:
    book = read_back([months("line")])
    assert [type(chart) for chart in book.worksheets[0]._charts] == [LineChart]


def test_a_chart_of_no_rows_is_left_out() -> None:
    empty = Sheet("months", "逐月", "By month", MONTHS, [], months().chart)
    ws = read_back([empty]).worksheets[0]
    assert ws._charts == []
    assert ws.auto_filter.ref == "A1:C1"
    assert [cell.value for cell in ws[1]] == ["月份", "用电量（kWh）", "用水量（m³）"]


def test_column_widths_count_cjk_characters_double() -> None:
    columns = (Column("zh", "公共机构能耗统计名录库单位", "a"), Column("ascii", "abcdefghijklmnopqrstuvwxyz", "b"))
    ws = read_back([Sheet("w", "宽度", "Widths", columns, [("x", "y")])]).worksheets[0]
    zh, ascii_ = ws.column_dimensions["A"].width, ws.column_dimensions["B"].width
    # 13 CJK characters take the room of 26 '0's; 26 ASCII letters the room of 26.
    assert zh >= 26
    assert ascii_ >= 26
    assert zh == ascii_

    # A value among the first rows widens its column, up to a cap that keeps the neighbours in view.
    rows = [("市" * 20, "y"), ("x", "y" * 200)]
    wide = read_back([Sheet("w", "宽度", "Widths", columns, rows)]).worksheets[0]
    assert (wide.column_dimensions["A"].width, wide.column_dimensions["B"].width) == (42, 60)


def test_text_that_looks_like_a_formula_or_an_error_stays_text() -> None:
    columns = (Column("name", "名称", "Name"),)
    rows = [('=HYPERLINK("http://x","y")',), ("#N/A",), ("bell\x07",), (date(2025, 1, 2),), (Decimal("1E+3"),)]
    ws = read_back([Sheet("t", "文本", "Text", columns, rows)]).worksheets[0]
    assert [(cell.value, cell.data_type) for (cell,) in ws.iter_rows(min_row=2)] == [
        ('=HYPERLINK("http://x","y")', "s"),
        ("#N/A", "s"),
        ("bell\ufffd", "s"),
        ("2025-01-02", "s"),
        ("1000", "s"),
    ]


class Row(list[object]):
    """A row that a weak set can watch: tuples take no weak references, and lists are not hashable."""

    __hash__ = object.__hash__


def test_a_large_generator_is_written_without_holding_its_rows(tmp_path: Path) -> None:
    count = 200_000
    columns = (Column("n", "序号", "Number", "integer"), Column("kwh", "用电量", "kWh", "decimal"))
    live: weakref.WeakSet[Row] = weakref.WeakSet()
    most_alive = most_blocks = consumed = 0

    def rows() -> Iterator[Row]:
        nonlocal most_alive, most_blocks, consumed
        for n in range(count):
            row = Row([n, Decimal(n) / 7])
            live.add(row)
            most_alive = max(most_alive, len(live))
            if n % 500 == 0:
                # Memory as the interpreter's count of small blocks (one or more per object), read every 500
                # rows because counting walks the heap. tracemalloc would give bytes, but tracing every
                # allocation makes this write four times slower (over 30 s) for the same verdict.
                most_blocks = max(most_blocks, sys.getallocatedblocks())
            consumed += 1
            yield row

    before = sys.getallocatedblocks()
    held = list(rows())
    held_blocks = most_blocks - before
    del held

    most_alive = most_blocks = consumed = 0
    before = sys.getallocatedblocks()
    path = tmp_path / "big.xlsx"
    with path.open("wb") as target:
        write_xlsx([Sheet("big", "大表", "Big", columns, rows())], target)
    streamed_blocks = most_blocks - before

    assert consumed == count
    # The writer drops each row once it is written: a handful alive at once, never the sheet.
    assert most_alive <= 3
    # Holding the rows takes hundreds of thousands of blocks; streaming them, a few thousand at most. The bound
    # fails a writer that keeps even a twentieth of the rows, or of the cells made from them.
    assert held_blocks > 3 * count
    assert streamed_blocks < held_blocks / 20
    book = load_workbook(path, read_only=True)
    try:
        last = list(book.worksheets[0].iter_rows(min_row=count + 1, values_only=True))
    finally:
        book.close()
    assert last == [(count - 1, pytest.approx(float(Decimal(count - 1) / 7)))]


def test_a_sheet_longer_than_excel_opens_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Excel's real limit is a million rows; a small one stands in so that the test writes a few.
    monkeypatch.setattr(workbook, "EXCEL_ROWS", 11)
    columns = (Column("n", "序号", "Number", "integer"),)
    write_xlsx([Sheet("fits", "满", "Fits", columns, [(n,) for n in range(10)])], io.BytesIO())
    with pytest.raises(ValueError, match="more than 10 rows"):
        write_xlsx([Sheet("over", "超", "Over", columns, [(n,) for n in range(11)])], io.BytesIO())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("a", Decimal(1), 1), r"row 2: 3 values for 2 columns"),
        (("a", "12.5"), r"row 2: column 'kwh' holds numbers, not str '12.5'"),
        (("a", float("nan")), r"row 2: column 'kwh' holds finite numbers"),
        (("a", Decimal("Infinity")), r"row 2: column 'kwh' holds finite numbers"),
        (("a", True), r"row 2: column 'kwh' holds numbers, not bool"),
    ],
)
def test_a_row_that_does_not_fit_is_refused_and_leaves_no_files(
    row: tuple[object, ...], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # openpyxl streams each sheet into a temporary file; after a failure none may stay behind.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    columns = (Column("name", "名称", "Name"), Column("kwh", "用电量", "kWh", "decimal"))
    rows = [("fine", Decimal(1)), row] + [("fine", Decimal(2))] * (WIDTH_SAMPLE * 2)
    good = Sheet("good", "好", "Good", columns, [("fine", Decimal(1))])
    with pytest.raises(ValueError, match=message):
        write_xlsx([good, Sheet("bad", "坏", "Bad", columns, rows)], io.BytesIO())
    bad_later = [("fine", Decimal(1))] * (WIDTH_SAMPLE * 2) + [row]
    with pytest.raises(ValueError, match=rf"row {WIDTH_SAMPLE * 2 + 1}:"):
        write_xlsx([good, Sheet("bad", "坏", "Bad", columns, bad_later)], io.BytesIO())
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=message.replace("row 2", "row 1")):
        list(csv_chunks(Sheet("bad", "坏", "Bad", columns, [row])))


def test_a_failing_row_source_leaves_no_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    columns = (Column("n", "序号", "Number", "integer"),)

    def rows() -> Iterator[tuple[int]]:
        for n in range(WIDTH_SAMPLE * 3):
            yield (n,)
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        write_xlsx([Sheet("n", "序号", "Numbers", columns, rows())], io.BytesIO())
    assert list(tmp_path.iterdir()) == []


def test_csv_round_trips_with_stable_keys_iso_dates_and_plain_numbers() -> None:
    columns = (*INSTITUTIONS, Column("month", "月份", "Month", "month"))
    rows = [(*row, date(2025, 2, 17)) for row in INSTITUTION_ROWS] + [
        ("=1+1", Decimal("1E+3"), Decimal(7), 1e-7, Fraction(1, 3), Fraction(1, 8), datetime(2025, 3, 1, 8), None)
    ]
    target = io.StringIO(newline="")
    write_csv(Sheet("institutions", "单位能耗", "Institutions", columns, rows), target)
    text = target.getvalue()

    assert not text.startswith("\ufeff")
    read = list(csv.reader(io.StringIO(text, newline="")))
    assert read[0] == [column.key for column in columns]
    assert read[1:] == [
        ["市机关事务管理局", "12500.5", "320", "1234567.89", "151728.3", "-0.052", "2025-01-15", "2025-02"],
        ["第一人民医院", "86000", "2100", "9876543.21", "1213827.16", "0.031", "2025-01-20", "2025-02"],
        ["实验小学", "", "95", "0.5", "0.061", "", "", "2025-02"],
        ["'=1+1", "1000", "7", "0.0000001", "0.333", "0.125", "2025-03-01", ""],  # text, never a formula
    ]
    assert "\r\n" in text


def test_csv_headers_people_read_and_the_bom_excel_needs() -> None:
    sheet = Sheet("months", "逐月", "By month", MONTHS, MONTH_ROWS)
    target = io.StringIO(newline="")
    write_csv(sheet, target, header="zh", bom=True)
    text = target.getvalue()
    assert text.startswith("\ufeff月份,用电量（kWh）,用水量（m³）\r\n")
    assert text.encode()[:3] == b"\xef\xbb\xbf"

    english = io.StringIO(newline="")
    write_csv(Sheet("months", "逐月", "By month", MONTHS, MONTH_ROWS), english, header="en")
    assert english.getvalue().startswith("Month,Electricity (kWh),Water (m³)\r\n")


def test_csv_chunks_come_while_rows_are_still_being_read() -> None:
    columns = (Column("n", "序号", "Number", "integer"), Column("name", "名称", "Name"))
    consumed = 0

    def rows() -> Iterator[tuple[int, str]]:
        nonlocal consumed
        for n in range(10_000):
            consumed += 1
            yield (n, f"单位{n}")

    chunks = csv_chunks(Sheet("n", "序号", "Numbers", columns, rows()), bom=True, chunk_size=1024)
    first = next(chunks)
    assert first.startswith(b"\xef\xbb\xbfn,name\r\n")
    assert 1024 <= len(first) < 1024 + 100
    assert consumed < 200
    body = first + b"".join(chunks)
    assert consumed == 10_000

    expected = io.StringIO(newline="")
    write_csv(Sheet("n", "序号", "Numbers", columns, ((n, f"单位{n}") for n in range(10_000))), expected, bom=True)
    assert body.decode() == expected.getvalue()


def test_the_spooled_workbook_comes_in_chunks_and_closes_its_file() -> None:
    spool = spool_xlsx([institutions(), months()], language="en", memory=1024)
    chunks = file_chunks(spool, chunk_size=4096)
    body = b"".join(chunks)
    assert spool.closed
    assert load_workbook(io.BytesIO(body)).sheetnames == ["Institutions", "By month"]

    stopped = spool_xlsx([institutions()])
    early = file_chunks(stopped, chunk_size=100)
    next(early)
    early.close()  # as when a client goes away mid-download
    assert stopped.closed

    assert b"".join(xlsx_chunks([months()], chunk_size=1000))[:2] == b"PK"


LONG = "公共机构能耗统计监测系统重点用能单位能耗公示表（二〇二四年度第一季度）"


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("能耗/用水 [2024]: 汇总?*\\", "能耗_用水 _2024__ 汇总___"),
        ("'quoted'", "quoted"),
        ("History", "History_"),
        ("", "Sheet"),
        ("tab\there", "tab_here"),
        (LONG, LONG[:31]),
        ("😀" * 20, "😀" * 15),
    ],
)
def test_a_sheet_name_is_made_valid_for_excel(title: str, name: str) -> None:
    assert sheet_name(title) == name
    assert len(name.encode("utf-16-le")) <= 62


def test_forbidden_and_colliding_sheet_names_survive_a_round_trip() -> None:
    columns = (Column("n", "序号", "Number", "integer"),)
    long = LONG
    sheets = [
        Sheet("a", "能耗/用水 [2024]: 汇总?*\\", "a", columns, [(1,)]),
        Sheet("b", long, "b", columns, [(2,)]),
        Sheet("c", long + "（续）", "c", columns, [(3,)]),
        Sheet("d", "History", "d", columns, [(4,)]),
        Sheet("e", "history_", "e", columns, [(5,)]),
    ]
    book = read_back(sheets)
    assert book.sheetnames == [
        "能耗_用水 _2024__ 汇总___",
        LONG[:31],
        LONG[:27] + " (2)",
        "History_",
        "history_ (2)",
    ]
    assert [ws["A2"].value for ws in book.worksheets] == [1, 2, 3, 4, 5]


def test_a_column_coerces_values_to_its_kind() -> None:
    kwh = Column("kwh", "用电量", "kWh", "decimal")
    assert kwh.coerce(Fraction(1, 3)) == Decimal("0.33")
    assert kwh.coerce(Fraction(5, 1000)) == Decimal("0.01")  # half up (四舍五入), not to even
    assert kwh.coerce(Fraction(-5, 1000)) == Decimal("-0.01")
    assert kwh.coerce(Decimal("1.23456")) == Decimal("1.23456")  # a Decimal keeps its precision
    assert Column("share", "占比", "Share", "percent").coerce(Fraction(1, 8)) == Decimal("0.125")

    count = Column("n", "人数", "Headcount", "integer")
    assert count.coerce(Decimal("3")) == 3
    assert count.coerce(7.0) == 7
    for bad in (Decimal("3.5"), Fraction(7, 2), 2.5, True, "3"):
        with pytest.raises(ValueError, match="column 'n'"):
            count.coerce(bad)

    day = Column("day", "日期", "Day", "date")
    assert day.coerce(datetime(2025, 1, 2, 23, 59)) == date(2025, 1, 2)
    with pytest.raises(ValueError, match="local day"):
        day.coerce(datetime(2025, 1, 2, 16, tzinfo=UTC))
    assert Column("m", "月份", "Month", "month").coerce(date(2025, 2, 17)) == date(2025, 2, 1)


def test_a_sheet_refuses_columns_and_charts_that_do_not_fit() -> None:
    name = Column("name", "名称", "Name")
    kwh = Column("kwh", "用电量", "kWh", "decimal")
    with pytest.raises(ValueError, match=r"unique, \['name'\] repeat"):
        Sheet("s", "表", "S", [name, name], [])
    with pytest.raises(ValueError, match="no numeric column"):
        Sheet("s", "表", "S", [name, kwh], [], Chart("bar", "kwh", ["name"], "图", "Chart"))
    with pytest.raises(ValueError, match="category 'month' is no column"):
        Sheet("s", "表", "S", [name, kwh], [], Chart("bar", "month", ["kwh"], "图", "Chart"))
    with pytest.raises(ValueError, match="decimals apply"):
        Column("name", "名称", "Name", decimals=2)


def test_csv_text_a_spreadsheet_would_run_gets_an_apostrophe_and_numbers_stay_numbers() -> None:
    columns = [Column("name", "名称", "Name"), Column("change", "同比", "Change", "decimal", decimals=1)]
    rows = [["=1+1", Decimal("-3.5")], ["-3.5", -0.25], ["@SUM(A1)", None], ["\t=cmd", 2], ["'=x", 0], ["a-b", 1]]
    target = io.StringIO(newline="")
    write_csv(Sheet("t", "表", "Table", columns, rows), target)
    assert list(csv.reader(io.StringIO(target.getvalue()))) == [
        ["name", "change"],
        ["'=1+1", "-3.5"],  # a number of a numeric column is data, never guarded
        ["'-3.5", "-0.25"],  # the same characters as text are guarded: the column's kind decides, not the look
        ["'@SUM(A1)", ""],
        ["'\t=cmd", "2"],
        ["''=x", "0"],  # an apostrophe already there gets one more, so that reading back removes one
        ["a-b", "1"],
    ]


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-3.5", "@x", "\tx", "\rx", "'=x", "''+x", "'x", "x=1", "", "'"])
def test_csv_cell_reads_back_what_csv_text_wrote(text: str) -> None:
    assert workbook.csv_cell(workbook.csv_text(text)) == text
