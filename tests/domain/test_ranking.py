"""The ranking rule: lowest first, ties share a rank (1, 2, 2, 4), the unranked apart after the ranked."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.ranking import ranked

Entry = tuple[str, Decimal | None, bool]


def rank(entries: list[Entry]) -> list[tuple[str, int | None]]:
    return [(e[0], r) for e, r in ranked(entries, value=lambda e: e[1], rankable=lambda e: e[2], tie=lambda e: e[0])]


def test_ties_share_a_rank_and_the_next_skips() -> None:
    entries: list[Entry] = [("d", Decimal(4), True), ("b", Decimal(2), True), ("a", Decimal(1), True),
                            ("c", Decimal(2), True)]  # fmt: skip
    assert rank(entries) == [("a", 1), ("b", 2), ("c", 2), ("d", 4)]


def test_the_unranked_come_after_those_with_a_value_by_value_then_those_without_in_given_order() -> None:
    entries: list[Entry] = [
        ("z", None, True),
        ("low-but-incomplete", Decimal("0.1"), False),
        ("y", None, False),
        ("ranked", Decimal(9), True),
        ("lower-but-incomplete", Decimal("0.01"), False),
    ]
    assert rank(entries) == [
        ("ranked", 1),
        ("lower-but-incomplete", None),
        ("low-but-incomplete", None),
        ("z", None),
        ("y", None),
    ]


def test_zero_is_a_value_and_missing_is_not() -> None:
    assert rank([("none", None, True), ("zero", Decimal(0), True)]) == [("zero", 1), ("none", None)]


@given(
    st.lists(
        st.tuples(st.integers(0, 5).map(Decimal) | st.none(), st.booleans()),
        max_size=20,
    )
)
def test_a_rank_is_one_more_than_the_ranked_values_below_it(values: list[tuple[Decimal | None, bool]]) -> None:
    entries: list[Entry] = [(f"{n:02}", v, ok) for n, (v, ok) in enumerate(values)]
    out = ranked(entries, value=lambda e: e[1], rankable=lambda e: e[2], tie=lambda e: e[0])
    assert sorted(e[0] for e, _ in out) == sorted(e[0] for e in entries)  # each once
    ranked_values = [e[1] for e, r in out if r is not None]
    assert all(e[1] is not None and e[2] for e, r in out if r is not None)
    for entry, position in out:
        if position is not None:
            assert entry[1] is not None
            assert position == 1 + sum(v is not None and v < entry[1] for v in ranked_values)
    positions = [r for _, r in out]
    first_unranked = positions.index(None) if None in positions else len(positions)
    assert all(r is None for r in positions[first_unranked:])  # the unranked all after
