"""Background tasks of the API's lifespan: started in one place, cancelled and awaited at shutdown.

Plain tasks rather than a TaskGroup across the lifespan's `yield`: the lifespan may be entered and left by
different tasks (an ASGI server does it in one, a test fixture may not), and a TaskGroup ties its children
to the task that entered it. Shutdown waits a bounded time, so one stuck task cannot hang it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)


@asynccontextmanager
async def running(*jobs: Coroutine[Any, Any, None], stop_within: float = 10.0) -> AsyncIterator[None]:
    """Run the coroutines as tasks for the duration of the block; cancel and await them when it ends."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        _, late = await asyncio.wait(tasks, timeout=stop_within)
        for task in late:
            log.error("background task %s did not stop within %.0f s", task.get_coro(), stop_within)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("background task %s had failed", task.get_coro(), exc_info=task.exception())
