"""Prometheus metrics of the notifier, and its health (served by yiwang/probe.py)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    """The notifier's counters; one instance per notifier, each with its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.planned = Counter("yiwang_notifier_planned", "Deliveries planned from alerts and rules.", registry=r)
        self.delivered = Counter("yiwang_notifier_delivered", "Deliveries sent.", ["channel"], registry=r)
        self.failed = Counter(
            "yiwang_notifier_failed", "Attempts that failed (retried later).", ["channel"], registry=r
        )
        self.dead = Counter("yiwang_notifier_dead", "Deliveries given up after the attempts allowed.", registry=r)
        self.cleared = Counter("yiwang_notifier_alerts_cleared", "Alerts cleared: their cause ended.", registry=r)
        self.escalated = Counter("yiwang_notifier_alerts_escalated", "Alerts escalated.", registry=r)
        self.energy_raised = Counter(
            "yiwang_notifier_energy_events_raised", "Energy events raised as alerts by the energy watch.", registry=r
        )
        self.last_sweep = Gauge("yiwang_notifier_last_sweep", "Unix time the last sweep ended.", registry=r)
        self.sweeps = 0
        self.poll_seconds = 5.0

    def swept(self) -> None:
        self.sweeps += 1
        self.last_sweep.set(time.time())

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy once a sweep has ended, and while sweeps keep ending (the database answers)."""
        last = self.last_sweep._value.get()
        age = time.time() - last if last else None
        ok = age is not None and age < max(60.0, 10 * self.poll_seconds)
        return ok, {"sweeps": self.sweeps, "seconds_since_sweep": None if age is None else round(age, 1)}
