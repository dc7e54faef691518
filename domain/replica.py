"""How recent a read replica's data is, and whether it is recent enough to answer a report.

A streaming standby holds every transaction the primary committed up to the last one it replayed. When it has
replayed the primary's WAL up to where the primary was as the request began, it holds everything: its figures are
the primary's. Otherwise they are those of the moment its last replayed transaction committed, and a replica more
than the allowed lag behind (a broken link, replay paused, a long recovery conflict) does not answer: the primary
does, so that no one is handed last week's figures as today's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Replay:
    """What a replica says of itself, against the primary's WAL end read at `checked_at` (the primary's clock, as
    the replayed commits' timestamps are: a replica's skewed clock cannot make its figures look newer)."""

    recovering: bool  # a standby; False: a primary itself (a promoted standby, or the primary named twice)
    caught_up: bool  # it has replayed the primary's WAL up to where the primary was before the check
    replayed_at: datetime | None  # when its last replayed transaction committed; None: none since it started
    checked_at: datetime

    @property
    def lag(self) -> timedelta | None:
        """How far behind the primary its figures are: nothing once caught up; None when it cannot tell (behind,
        with nothing replayed since it started)."""
        if self.caught_up:
            return timedelta(0)
        return None if self.replayed_at is None else self.checked_at - self.replayed_at


@dataclass(frozen=True, slots=True)
class Freshness:
    """The verdict: the replica answers with figures `as_of` (every commit up to then is in them), or it does not and
    `behind` says why."""

    as_of: datetime | None
    behind: str | None


def judge(replay: Replay, max_lag: timedelta) -> Freshness:
    """Whether the replica may answer, and as of when its figures are. A server out of recovery is no standby of the
    primary: promoted (a failover drill, a split), it takes writes of its own and holds none of the primary's since,
    so it never answers, however current it says it is."""
    if not replay.recovering:
        return Freshness(None, "the replica is out of recovery (promoted?): no standby of the primary")
    lag = replay.lag
    if lag is None:
        return Freshness(None, "the replica is behind and has replayed no transaction since it started")
    if lag > max_lag:
        return Freshness(
            None, f"the replica is {lag.total_seconds():.0f} s behind, more than {max_lag.total_seconds():.0f} s"
        )
    return Freshness(replay.checked_at - lag, None)
