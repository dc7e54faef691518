"""A corrected day's hours: staff state a day's amount (a spike, a misread); its hours must still sum to it exactly.

Amounts are millionths of the meter's unit, as in domain/counters.py. The corrected amount is shared between the
day's hours in proportion to what the readings counted in each, by cumulative rounding (the shares sum to the amount
exactly, so hours still sum to the day, days to months); a day whose readings counted nothing has no proportions to
keep, so its amount is shared evenly between its hours.
"""

from __future__ import annotations

from collections.abc import Sequence


def corrected_hours(counted: Sequence[int], amount: int) -> list[int]:
    """The day's hours holding `amount` in place of what they counted.

    Args:
        counted: the day's hours as the readings counted them (23 to 25 of them, none negative).
        amount: the corrected amount of the day, at least 0.

    Raises:
        ValueError: a day without hours, a negative hour or amount.
    """
    if not counted:
        raise ValueError("a day has 23 to 25 hours, not none")
    if amount < 0 or any(h < 0 for h in counted):
        raise ValueError("consumption is never negative")
    weights = list(counted) if sum(counted) > 0 else [1] * len(counted)
    total = sum(weights)
    out: list[int] = []
    reached, done = 0, 0
    for weight in weights:
        reached += weight
        share = amount * reached // total
        out.append(share - done)
        done = share
    return out
