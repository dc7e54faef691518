"""The real collector with one addition: after each commit it notes, per message, how long ago it was
published (the payload's time is set to the publish time by the latency load). Used only by bench.ingest.

    python -m bench.probe OUT.json   (settings from YIWANG_* as for `yiwang collect`)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import orjson

from collector.inbox import Received
from collector.run import run
from collector.writer import Outcome, Writer
from yiwang.settings import Settings


class ProbeWriter(Writer):
    """The collector's writer, noting after each commit how long ago each message was published."""

    latencies_ms: ClassVar[list[float]] = []

    async def write(self, batch: Sequence[Received], abandon: asyncio.Event) -> Outcome | None:
        outcome = await super().write(batch, abandon)
        committed = time.time() * 1000
        for item in batch:
            sent = orjson.loads(item.payload)["time"]
            self.latencies_ms.append(committed - sent)
        return outcome


def main(out: Path) -> None:
    """Run the collector (`yiwang collect`) until SIGTERM, then write the latencies of every committed message."""
    asyncio.run(run(Settings(), writer_type=ProbeWriter))
    out.write_bytes(orjson.dumps(ProbeWriter.latencies_ms))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
