"""The login limit's rules: free attempts up to the limit, then delays doubling to a cap, a leak that makes room
again, and a known pair judged on its own counter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.login_limit import Counter, Limit, Policy, admit, level, wait

START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
LIMIT = Limit(5, timedelta(minutes=15), timedelta(seconds=1), timedelta(minutes=15))
POLICY = Policy(LIMIT, Limit(20, LIMIT.window, LIMIT.delay, LIMIT.max_delay), LIMIT, known_for=timedelta(days=90))


def test_a_counter_takes_its_limit_at_once_then_waits_doubling_delays_and_then_its_leak_rate() -> None:
    counter, now, waits = Counter(), START, []
    while now < START + timedelta(days=1):  # an attacker who always waits exactly as long as told
        waited = wait(counter, LIMIT, now)
        waits.append(waited)
        now += timedelta(seconds=waited)
        counter = Counter(level(counter, LIMIT, now) + 1, now)
    assert waits[:10] == [0.0] * 5 + [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(waits) <= LIMIT.max_delay.total_seconds()
    # In the long run no faster than the leak: the limit per window (5 per 15 minutes, 480 a day), and a burst.
    assert len(waits) <= 5 * 96 + 20


def test_a_full_counter_leaks_its_limit_per_window() -> None:
    full = Counter(5.0, START)
    assert wait(full, LIMIT, START) == 1.0
    # One attempt leaks away in a fifth of the window: room for one more, whatever the delay.
    assert level(full, LIMIT, START + timedelta(minutes=3)) == 4.0
    assert wait(Counter(40.0, START), LIMIT, START + timedelta(minutes=3)) == LIMIT.max_delay.total_seconds() - 180
    assert level(full, LIMIT, START + LIMIT.window) == 0.0


def test_an_attempt_counts_on_every_counter_and_the_one_that_fills_a_counter_says_so() -> None:
    counters = {"pair": Counter(3.0, START), "name": Counter(19.0, START), "address": Counter()}
    admission = admit(counters, None, POLICY, START)
    assert admission.wait == 0.0
    assert {kind: c.level for kind, c in admission.counted.items()} == {"pair": 4.0, "name": 20.0, "address": 1.0}
    assert admission.filled == ("name",)


def test_a_full_name_makes_unknown_addresses_wait_but_not_the_one_it_logged_in_from() -> None:
    counters = {"pair": Counter(), "name": Counter(40.0, START), "address": Counter()}
    assert admit(counters, None, POLICY, START).wait > 0
    assert admit(counters, START - timedelta(days=100), POLICY, START).wait > 0  # known too long ago
    known = admit(counters, START - timedelta(days=1), POLICY, START)
    assert known.wait == 0.0
    assert known.counted["name"].level == 41.0  # still counted, for the name's other addresses
