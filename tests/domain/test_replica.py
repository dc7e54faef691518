"""When a read replica may answer a report, and as of when its figures are (domain/replica.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.replica import Replay, judge

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
LIMIT = timedelta(minutes=5)


def test_a_replica_that_has_replayed_the_primarys_wal_holds_the_primarys_figures_as_of_now() -> None:
    # Its last replayed commit may be an hour old: the primary committed nothing since.
    verdict = judge(Replay(True, True, NOW - timedelta(hours=1), NOW), LIMIT)
    assert verdict.as_of == NOW
    assert verdict.behind is None


def test_a_replica_behind_answers_as_of_its_last_replayed_commit() -> None:
    verdict = judge(Replay(True, False, NOW - timedelta(seconds=40), NOW), LIMIT)
    assert verdict.as_of == NOW - timedelta(seconds=40)
    assert verdict.behind is None


def test_a_replica_further_behind_than_allowed_does_not_answer() -> None:
    verdict = judge(Replay(True, False, NOW - LIMIT - timedelta(seconds=1), NOW), LIMIT)
    assert verdict.as_of is None
    assert verdict.behind == "the replica is 301 s behind, more than 300 s"


def test_a_replica_behind_that_has_replayed_nothing_does_not_answer() -> None:
    verdict = judge(Replay(True, False, None, NOW), LIMIT)
    assert verdict.as_of is None
    assert verdict.behind is not None


def test_a_server_out_of_recovery_never_answers_for_the_primary() -> None:
    # Promoted, it reports itself current (its own WAL is all replayed) while the primary goes on without it.
    for caught_up in (True, False):
        verdict = judge(Replay(False, caught_up, NOW, NOW), LIMIT)
        assert verdict.as_of is None
        assert verdict.behind is not None
        assert "out of recovery" in verdict.behind
