"""Supervising departments as a hierarchy: each one's descendants, and chains of parents that come back."""

from __future__ import annotations

from domain.departments import cycle, cycle_problem, descendants


def test_each_department_has_those_under_it_at_any_depth() -> None:
    pairs = [
        ("edu", "gov"),  # a child before its parent
        ("gov", None),
        ("school-bureau", "edu"),
        ("health", "gov"),
        ("alone", None),
        ("orphan", "gone"),  # a parent not among the pairs
    ]
    assert descendants(pairs) == {
        "gov": frozenset({"edu", "school-bureau", "health"}),
        "edu": frozenset({"school-bureau"}),
        "school-bureau": frozenset(),
        "health": frozenset(),
        "alone": frozenset(),
        "orphan": frozenset(),
    }
    assert descendants([]) == {}


def test_a_cycle_ends_each_walk_instead_of_running_for_ever() -> None:
    found = descendants([("a", "c"), ("b", "a"), ("c", "b"), ("d", "a")])
    assert found["a"] == frozenset({"b", "c", "d"})
    assert found["d"] == frozenset()


def test_a_chain_of_parents_that_comes_back_is_named() -> None:
    parents = {"gov": None, "edu": "gov", "school-bureau": "edu"}
    assert cycle(parents, "school-bureau") is None
    moved = parents | {"gov": "school-bureau"}
    assert cycle(moved, "gov") == ["gov", "school-bureau", "edu", "gov"]
    assert cycle_problem(moved, "gov") == (
        "department gov would be under itself (gov → school-bureau → edu → gov): a supervising department's chain of "
        "parents ends at one without a parent"
    )
    assert cycle_problem({"a": "a"}, "a") == "department a cannot be its own parent"
    # A loop above a department that does not pass through it is that loop's own problem.
    assert cycle({"x": "a", "a": "b", "b": "a"}, "x") is None
