"""Supervising departments (主管部门) as a hierarchy: a department may sit under another (a bureau under its
commission), and the survey's summary by department adds up each department's own institutions and those of every
department under it. The hierarchy is a forest: a parent chain that comes back to where it started is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def descendants(pairs: Iterable[tuple[str, str | None]]) -> dict[str, frozenset[str]]:
    """Each department's descendants (those under it, at any depth; not itself), from (id, parent id) pairs.

    Every department of the pairs has an entry (an empty set for one with none under it); a parent that is not
    itself among the pairs is left out. A cycle, which `cycle` finds and the registry refuses, ends each walk
    where it would come round again.
    """
    parent_of = dict(pairs)
    children: dict[str, list[str]] = {department: [] for department in parent_of}
    for department, parent in parent_of.items():
        if parent is not None and parent in children and parent != department:
            children[parent].append(department)
    found: dict[str, frozenset[str]] = {}
    for department, under in children.items():
        seen: set[str] = set()
        stack = list(under)
        while stack:
            child = stack.pop()
            if child in seen or child == department:
                continue
            seen.add(child)
            stack.extend(children[child])
        found[department] = frozenset(seen)
    return found


def cycle(parent_of: Mapping[str, str | None], department: str) -> list[str] | None:
    """The parent chain from `department` when it comes back to `department` (its first and last item), or None
    when it ends at a department without a parent (or one not in `parent_of`)."""
    chain = [department]
    seen = {department}
    current = parent_of.get(department)
    while current is not None:
        chain.append(current)
        if current == department:
            return chain
        if current in seen:
            return None  # a loop above it, which does not pass through it: that department's own problem
        seen.add(current)
        current = parent_of.get(current)
    return None


def cycle_problem(parent_of: Mapping[str, str | None], department: str) -> str | None:
    """Why `department`'s parent (as `parent_of` has it, changes applied) cannot be, or None when it can."""
    loop = cycle(parent_of, department)
    if loop is None:
        return None
    if len(loop) == 2:
        return f"department {department} cannot be its own parent"
    return (
        f"department {department} would be under itself ({' → '.join(loop)}): a supervising department's chain of "
        "parents ends at one without a parent"
    )
