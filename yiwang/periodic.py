"""A job taken in turns for as long as a process runs: the worker's roll-ups and packing, the API's quota watch.
Beside the settings, not in a service's package, so that the services share it without importing one another."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)


class Turns(Protocol):
    """What is told of each turn (a process's metrics)."""

    def took_turn(self, job: str, done: int) -> None: ...

    def failed_turn(self, job: str, reason: str) -> None: ...


class _Untold:
    def took_turn(self, job: str, done: int) -> None:
        pass

    def failed_turn(self, job: str, reason: str) -> None:
        pass


async def periodically(
    turn: Callable[[], Awaitable[int]],
    every: float,
    job: str,
    *,
    metrics: Turns | None = None,
    refusals: tuple[type[Exception], ...] = (),
) -> None:
    """Take `turn` (which returns how many items it brought up to date) every `every` seconds until cancelled.

    A refusal (a setting that does not fit the stored data, say) is logged as its sentence; any other failure with
    its traceback: either way the process keeps going, and the next turn tries again (the database may be back).
    """
    told = metrics or _Untold()
    while True:
        try:
            done = await turn()
        except refusals as exc:
            log.error("%s", exc)
            told.failed_turn(job, str(exc))
        except Exception as exc:
            log.exception("%s: the turn failed", job)
            told.failed_turn(job, f"{type(exc).__name__}: {str(exc).strip()[:200]}")
        else:
            if done:
                log.info("%s: %d brought up to date", job, done)
            told.took_turn(job, done)
        await asyncio.sleep(every)
