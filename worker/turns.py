"""How the worker's jobs take their turns, and how several workers share them.

Each job takes a turn every so often; a turn brings what is due up to date and returns how many items it did. Two
workers (or a worker and `yiwang energy refresh` run by hand) may take turns at once; no item is done twice:

- the roll-ups' items are the marks the collector leaves (db/marks.py): a recount takes a transaction-scoped advisory
  lock on its device with pg_try_advisory_xact_lock and deletes the mark in the transaction that writes the recount.
  A second worker skips a locked device; the lock and the claim end with the transaction, so a worker that dies
  mid-recount (SIGKILL, a lost connection) leaves nothing half written and no lock behind: the mark comes back with
  the rollback and the next turn of any worker recounts it. A lock on the device rather than SELECT ... FOR
  UPDATE SKIP LOCKED on its mark: staff's corrections take the same lock (db/marks.py `hold`) so that a correction
  and a recount never interleave, whether or not the device is marked;
- the packing of track hours takes batches of vehicles with SELECT ... FOR NO KEY UPDATE SKIP LOCKED on track_packed
  (db/tracks.py): its items are rows that stay, and the lock is the claim;
- retention's turn runs under a transaction-scoped advisory lock of its own (worker/retention.py): one worker at a
  time drops chunks; what another did meanwhile costs nothing to do again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from yiwang.periodic import periodically

__all__ = ["TOLD_TURN", "drain", "periodically"]

log = logging.getLogger(__name__)


Told = Callable[[int, int], None]

# Items a turn takes when someone is told how far a catch-up is (`yiwang energy rebuild`): a turn of the worker's
# size (10,000) is a city's whole registry, and the first line would come only at the end.
TOLD_TURN = 100


async def drain(
    turn: Callable[[], Awaitable[int]], pending: Callable[[], Awaitable[int]], *, told: Told | None = None
) -> int:
    """Take turns until nothing is pending; returns what they did. What is left after a turn that did nothing is
    being done by another process, so wait a moment for it. `told` hears after each turn what is done and what is
    left."""
    total = 0
    while True:
        done = await turn()
        total += done
        left = await pending()
        if told is not None:
            told(total, left)
        if not left:
            return total
        if not done:
            await asyncio.sleep(0.2)
