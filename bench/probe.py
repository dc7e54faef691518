"""The real collector with one addition: after each commit it notes, per message, how long ago it was
published (the payload's time is set to the publish time by the latency load). Used only by bench.ingest.

    python -m bench.probe OUT.json   (settings from YIWANG_* as for `yiwang collect`)
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from collector.inbox import Received
from collector.metrics import Metrics, serve
from collector.run import consume, limits_from
from collector.writer import KnownDevices, Outcome, Writer
from db import ingest
from db.pool import open_pool
from yiwang.settings import Settings


class ProbeWriter(Writer):
    latencies_ms: list[float]

    async def write(self, batch: Sequence[Received], abandon: asyncio.Event) -> Outcome | None:
        outcome = await super().write(batch, abandon)
        committed = time.time() * 1000
        for item in batch:
            sent = orjson.loads(item.payload)["time"]
            self.latencies_ms.append(committed - sent)
        return outcome


async def probe() -> list[float]:
    """Run the collector until SIGTERM; the latencies of every committed message, in ms."""
    settings = Settings()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    metrics = Metrics()
    async with (
        open_pool(settings.database_url, max_size=2, check=False, configure=ingest.prepare_connection) as pool,
        serve(metrics, settings.metrics_host, settings.metrics_port),
    ):
        writer = ProbeWriter(
            pool,
            root=settings.topic_root,
            limits=limits_from(settings),
            devices=KnownDevices(settings.registry_refresh_seconds),
            metrics=metrics,
        )
        writer.latencies_ms = []
        metrics.db_ok.set(1)
        await consume(settings, writer, metrics, stop)
    return writer.latencies_ms


def main(out: Path) -> None:
    out.write_bytes(orjson.dumps(asyncio.run(probe())))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
