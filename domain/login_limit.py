"""How fast failed logins may come: counters per (user name, client address) pair, per name and per address, each a
leaky bucket, with growing delays once one is full, never a lock.

A counter holds `level`, the attempts counted and not taken back, which leaks away at `limit.failures` per
`limit.window` (so that a steady rate under the limit, e.g. an office's typing errors behind one address, never
fills it), and `at`, when the last attempt was counted. While the level is under the limit an attempt may come at
once; when one more would pass the limit, the attempt waits `limit.delay * 2**k` after the last counted one, k the
whole attempts already over it, never more than `limit.max_delay` (exponential backoff: an attacker only slows, a
typing owner waits seconds), or until the leak makes room. The pair's counter is what a person at their own address
meets; the name's stops many addresses guessing one name, the address's one address guessing many names (a spray). A
name that has logged in from an address lately (`Policy.known_for`) is judged there on its pair alone, so that an
attack on the name from elsewhere or a spray from the same network does not keep its owner out.

Attempts are counted before the password is checked, so that concurrent guesses cannot pass a limit together; a
successful login takes its attempt back (and empties its pair).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

Kind = Literal["pair", "name", "address"]
KINDS: Final[tuple[Kind, ...]] = get_args(Kind)
# A doubling beyond this many steps exceeds any sane max_delay (2**40 s is 35,000 years): the cap holds anyway.
_MAX_DOUBLINGS = 40


@dataclass(frozen=True, slots=True)
class Limit:
    """One counter's rule."""

    failures: int  # attempts a counter holds before delays start; it leaks as many per window
    window: timedelta
    delay: timedelta  # the first delay once full, doubled with each further attempt over the limit
    max_delay: timedelta


@dataclass(frozen=True, slots=True)
class Policy:
    pair: Limit
    name: Limit
    address: Limit
    known_for: timedelta  # a login from an address makes the pair known this long

    def limit(self, kind: Kind) -> Limit:
        return {"pair": self.pair, "name": self.name, "address": self.address}[kind]


@dataclass(frozen=True, slots=True)
class Counter:
    level: float = 0.0
    at: datetime | None = None  # when the last attempt was counted; None: never


@dataclass(frozen=True, slots=True)
class Admission:
    """What a login attempt may do.

    wait: seconds until an attempt may be counted; 0 when this one is (the password may be checked).
    counted: the counters with this attempt counted, to store (only when admitted).
    filled: the counters this attempt filled to their limit: if its password is wrong, that is worth an alert.
    """

    wait: float
    counted: dict[Kind, Counter]
    filled: tuple[Kind, ...]


def level(counter: Counter, limit: Limit, now: datetime) -> float:
    """The counter's level now, after its leak since the last counted attempt."""
    if counter.at is None:
        return counter.level
    elapsed = max((now - counter.at).total_seconds(), 0.0)
    return max(counter.level - elapsed * limit.failures / limit.window.total_seconds(), 0.0)


def wait(counter: Counter, limit: Limit, now: datetime) -> float:
    """Seconds until the counter takes another attempt; 0 when it takes one now."""
    current = level(counter, limit, now)
    if _has_room(current, limit) or counter.at is None:
        return 0.0
    over = min(math.ceil(current + 1 - limit.failures) - 1, _MAX_DOUBLINGS)  # whole attempts over the limit
    delay = min(limit.delay.total_seconds() * 2.0**over, limit.max_delay.total_seconds())
    return max(delay - (now - counter.at).total_seconds(), 0.0)


def _has_room(current: float, limit: Limit) -> bool:
    """Whether a counter at this level takes a whole attempt more within its limit."""
    return current + 1 <= limit.failures


def judged_by(known: bool) -> tuple[Kind, ...]:
    """The counters an attempt must pass: its pair alone at an address where the name logged in lately."""
    return ("pair",) if known else KINDS


def admit(counters: dict[Kind, Counter], succeeded_at: datetime | None, policy: Policy, now: datetime) -> Admission:
    """Whether an attempt of a name from an address may be counted and its password checked now.

    Args:
        counters: the pair's, the name's and the address's counters (missing: empty).
        succeeded_at: the pair's last successful login, if any.
    """
    known = succeeded_at is not None and now - succeeded_at <= policy.known_for
    current = {kind: counters.get(kind, Counter()) for kind in KINDS}
    longest = max(wait(current[kind], policy.limit(kind), now) for kind in judged_by(known))
    if longest > 0:
        return Admission(longest, {}, ())
    counted: dict[Kind, Counter] = {}
    filled: list[Kind] = []
    for kind in KINDS:  # every attempt counts on all three, whichever judged it
        limit = policy.limit(kind)
        before = level(current[kind], limit, now)
        counted[kind] = Counter(before + 1, now)
        if _has_room(before, limit) and not _has_room(before + 1, limit):
            filled.append(kind)
    return Admission(0.0, counted, tuple(filled))
