"""Ranking with ties and the unranked apart: the rule every ranking of the product follows (the API's and the
workbook's), so that one list never says 1, 2, 3 where another says 1, 2, 2.

Lowest first. Equal values share a rank and the next rank skips as many (standard competition ranking: 1, 2, 2, 4);
equal values keep the order of their tie-breaking key. Entries that may not be ranked come after every ranked one,
unranked: those with a value (shown, but not final: an incomplete period) by value, then those without, each in
the order given. Missing is never zero, so never the best.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")


def ranked(
    entries: Iterable[T],
    *,
    value: Callable[[T], Decimal | None],
    rankable: Callable[[T], bool],
    tie: Callable[[T], str],
) -> list[tuple[T, int | None]]:
    """The entries in ranking order, each with its rank (None: unranked).

    Args:
        entries: what is ranked (institutions' rows).
        value: the figure ranked on, lowest first; None when there is none.
        rankable: whether an entry with a value may be ranked (False: listed apart, unranked).
        tie: the key that orders equal values (an id).
    """
    given = list(entries)
    ranks = [e for e in given if value(e) is not None and rankable(e)]
    ranks.sort(key=lambda e: (value(e), tie(e)))
    out: list[tuple[T, int | None]] = []
    previous: tuple[Decimal | None, int] | None = None
    for position, entry in enumerate(ranks, start=1):
        shared = previous[1] if previous is not None and previous[0] == value(entry) else position
        out.append((entry, shared))
        previous = (value(entry), shared)
    apart = [e for e in given if value(e) is not None and not rankable(e)]
    apart.sort(key=lambda e: (value(e), tie(e)))
    out += [(e, None) for e in apart]
    out += [(e, None) for e in given if value(e) is None]
    return out
