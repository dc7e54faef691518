"""Prometheus metrics of the worker, and its health (served by yiwang/probe.py)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    """The worker's counters, per job (consumption, mileage, packing, retention); one instance per worker."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turns = Counter("yiwang_worker_turns", "Turns taken, per job.", ["job"], registry=r)
        self.done = Counter(
            "yiwang_worker_done",
            "Items brought up to date, per job: meters or vehicles recounted, hours packed, chunks dropped and rows "
            "moved or deleted.",
            ["job"],
            registry=r,
        )
        self.failed = Counter(
            "yiwang_worker_failed", "Turns that failed (tried again at the next), per job.", ["job"], registry=r
        )
        self.backlog = Gauge(
            "yiwang_worker_backlog", "Devices marked stale and waiting for a recount, per roll-up.", ["job"], registry=r
        )
        self.last_turn = Gauge(
            "yiwang_worker_last_turn", "Unix time the job's last turn ended without failing.", ["job"], registry=r
        )
        # The last outcome of each job that has ended a turn: None when it ended well, else why it failed.
        self.failing: dict[str, str | None] = {}

    def took_turn(self, job: str, done: int) -> None:
        self.turns.labels(job).inc()
        self.done.labels(job).inc(done)
        self.last_turn.labels(job).set(time.time())
        self.failing[job] = None

    def failed_turn(self, job: str, reason: str) -> None:
        self.turns.labels(job).inc()
        self.failed.labels(job).inc()
        self.failing[job] = reason

    def done_of(self, job: str) -> float:
        """What the job has done so far (the tests compare two workers' sums)."""
        return float(self.done.labels(job)._value.get())

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy while no job's last turn failed (the database answers, the settings fit the stored roll-ups). A first
        turn may be long (a backlog after an outage, a rebuild): a job that has not ended one yet counts as well."""
        ok = all(reason is None for reason in self.failing.values())
        return ok, {"jobs": {job: reason or "ok" for job, reason in sorted(self.failing.items())}}
