"""What an export holds: sheets of rows under typed, bilingual columns, and an optional chart.

A column's kind decides how its values are checked and shown; `Column.coerce` is the one place that
turns what a report query hands over into a value of that kind, so the XLSX and CSV writers agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from domain.labels import Language

Kind = Literal["text", "integer", "decimal", "percent", "date", "month"]
ChartKind = Literal["bar", "line"]

# What `Column.coerce` returns: the value as the writers show it (a month is the date of its first day).
Cell = str | int | float | Decimal | date | None

_NUMERIC: frozenset[Kind] = frozenset({"integer", "decimal", "percent"})
# Places shown when a column does not say: energy amounts to the hundredth, shares to a tenth of a percent.
_DEFAULT_PLACES: dict[Kind, int] = {"decimal": 2, "percent": 1}
_MAX_PLACES = 10


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    Args:
        key: stable English identifier; the CSV header for systems and the chart's reference to the column.
        zh: the header staff read in Chinese.
        en: the header in English.
        kind: how values are checked and formatted: 'text', 'integer', 'decimal' (with `decimals` places,
            2 unless given), 'percent' (values are fractions, 0.125 shows as 12.5%, with `decimals` places
            of the percentage, 1 unless given), 'date', 'month' (a date; its day is ignored).
        decimals: places shown for 'decimal' and 'percent'; values keep their own precision.
    """

    key: str
    zh: str
    en: str
    kind: Kind = "text"
    decimals: int | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a column needs a key: systems read CSV headers and charts find columns by it")
        if self.decimals is not None:
            if self.kind not in _DEFAULT_PLACES:
                raise ValueError(f"column {self.key!r}: decimals apply to 'decimal' and 'percent', not {self.kind!r}")
            if not 0 <= self.decimals <= _MAX_PLACES:
                raise ValueError(f"column {self.key!r}: decimals must be 0..{_MAX_PLACES}, not {self.decimals}")

    @property
    def places(self) -> int:
        """Decimal places shown: `decimals`, or the kind's default (0 for integers and non-numbers)."""
        if self.decimals is not None:
            return self.decimals
        return _DEFAULT_PLACES.get(self.kind, 0)

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers (so that a chart can plot it)."""
        return self.kind in _NUMERIC

    def header(self, language: Language) -> str:
        """The header in `language`."""
        return self.zh if language == "zh" else self.en

    def coerce(self, value: object) -> Cell:
        """`value` as this column's kind, or ValueError saying what was wrong.

        Numbers keep their precision (a Decimal stays a Decimal), except Fractions, which are where exact
        amounts leave for a person: they are rounded half up (四舍五入) to the places the column shows.
        A date column takes a date, or a naive datetime read as local time; an aware datetime is refused
        because its local day depends on a zone the export does not know.
        """
        if value is None:
            return None
        match self.kind:
            case "text":
                return _text(value)
            case "integer":
                return self._integer(value)
            case "decimal" | "percent":
                return self._number(value)
            case "date":
                return self._date(value)
            case "month":
                return self._date(value).replace(day=1)

    def _integer(self, value: object) -> int:
        # Checked before `_number`, which would round a Fraction to the 0 places an integer column shows.
        if isinstance(value, Fraction) and value.denominator != 1:
            raise ValueError(f"column {self.key!r} holds integers, not {value!r}")
        number = self._number(value)
        if isinstance(number, int):
            return number
        if number != int(number):
            raise ValueError(f"column {self.key!r} holds integers, not {value!r}")
        return int(number)

    def _number(self, value: object) -> int | float | Decimal:
        # bool is an int to Python but never a quantity here: True in a number column is a query's bug.
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
            raise ValueError(f"column {self.key!r} holds numbers, not {type(value).__name__} {value!r}")
        if isinstance(value, Fraction):
            shown = self.places + 2 if self.kind == "percent" else self.places
            return _round_half_up(value, shown)
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite:
            # Excel has no NaN or infinity: a file holding one does not open.
            raise ValueError(f"column {self.key!r} holds finite numbers, not {value!r}")
        return value

    def _date(self, value: object) -> date:
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise ValueError(
                    f"column {self.key!r} holds local dates, not the aware datetime {value!r}: "
                    "convert it to the local day first"
                )
            return value.date()
        if isinstance(value, date):
            return value
        raise ValueError(f"column {self.key!r} holds dates, not {type(value).__name__} {value!r}")


@dataclass(frozen=True)
class Chart:
    """A native chart of a sheet's own cells.

    Args:
        kind: 'bar' or 'line'.
        category: key of the column along the category axis.
        values: keys of the numeric columns plotted, one series each, named by their headers.
        zh: the chart's title in Chinese.
        en: the chart's title in English.
    """

    kind: ChartKind
    category: str
    values: Sequence[str]
    zh: str
    en: str

    def title(self, language: Language) -> str:
        """The title in `language`."""
        return self.zh if language == "zh" else self.en


@dataclass(frozen=True)
class Sheet:
    """One table of an export.

    Args:
        key: stable English identifier of the table.
        zh: the sheet's title in Chinese.
        en: the sheet's title in English.
        columns: the columns, in order.
        rows: the rows, each a sequence of values in column order. It may be a generator: writers consume
            it once, one row at a time, so a sheet made from a generator can be written only once.
        chart: a chart of this sheet's data, or None.
        caption: lines written above the header in XLSX, the first bold (a form's title, who filled it, its year);
            CSV, for systems, leaves them out.
    """

    key: str
    zh: str
    en: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[object]]
    chart: Chart | None = None
    caption: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"sheet {self.key!r} has no columns")
        kinds = {column.key: column for column in self.columns}
        if len(kinds) != len(self.columns):
            keys = [column.key for column in self.columns]
            twice = sorted({key for key in keys if keys.count(key) > 1})
            raise ValueError(f"sheet {self.key!r}: column keys must be unique, {twice} repeat")
        if self.chart is not None:
            if self.chart.category not in kinds:
                raise ValueError(f"sheet {self.key!r}: the chart's category {self.chart.category!r} is no column")
            if not self.chart.values:
                raise ValueError(f"sheet {self.key!r}: the chart plots no columns")
            for key in self.chart.values:
                if key not in kinds or not kinds[key].numeric:
                    raise ValueError(f"sheet {self.key!r}: the chart plots {key!r}, which is no numeric column")

    def title(self, language: Language) -> str:
        """The title in `language`."""
        return self.zh if language == "zh" else self.en


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # str() of a Decimal may use an exponent ('1E+3'); text shows the plain number.
        return format(value, "f")
    return str(value)


def _round_half_up(value: Fraction, places: int) -> Decimal:
    # Exact: rounding through float or a finite Decimal context could move a value that sits on a half.
    scaled = abs(value) * 10**places
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return Decimal(-whole if value < 0 else whole).scaleb(-places)
