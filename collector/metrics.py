"""Prometheus metrics of the collector and the supervisor, and their health (served by yiwang/probe.py)."""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

log = logging.getLogger(__name__)

_BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 2000, 5000)
_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Metrics:
    """The collector's counters; one instance per collector, each with its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "yiwang_collector_messages_received", "Messages taken from the broker.", ["family"], registry=r
        )
        self.stored = Counter("yiwang_collector_rows_stored", "New rows committed.", ["family"], registry=r)
        self.duplicates = Counter(
            "yiwang_collector_rows_duplicate", "Rows already stored (redelivery, resend).", ["family"], registry=r
        )
        self.rejected = Counter(
            "yiwang_collector_rejected", "Messages or items sent to the dead-letter table.", ["reason"], registry=r
        )
        self.ignored = Counter(
            "yiwang_collector_ignored",
            "Messages read that hold nothing to store (EMQX's JT/T 808 heartbeats, registrations, ...), by message.",
            ["message"],
            registry=r,
        )
        self.batch_size = Histogram(
            "yiwang_collector_batch_messages", "Messages per committed batch.", buckets=_BATCH_BUCKETS, registry=r
        )
        self.batch_seconds = Histogram(
            "yiwang_collector_batch_seconds", "Time to write and commit a batch.", buckets=_SECONDS_BUCKETS, registry=r
        )
        self.lag = Histogram(
            "yiwang_collector_lag_seconds",
            "From receipt to commit of a batch's oldest message.",
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
        self.backlog = Gauge("yiwang_collector_backlog", "Messages received, not yet committed.", registry=r)
        self.paused = Gauge(
            "yiwang_collector_paused", "1 while reading is paused because the inbox is full.", registry=r
        )
        self.pruned = Counter(
            "yiwang_collector_dead_letters_pruned",
            "Dead letters deleted past their retention or their device's bound.",
            registry=r,
        )
        self.db_errors = Counter("yiwang_collector_db_errors", "Failed write attempts (retried).", registry=r)
        self.mqtt_connected = Gauge("yiwang_collector_mqtt_connected", "1 while connected to the broker.", registry=r)
        self.db_ok = Gauge("yiwang_collector_db_ok", "1 while the last write succeeded.", registry=r)
        self.last_commit = Gauge("yiwang_collector_last_commit_timestamp", "Unix time of the last commit.", registry=r)

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy while connected to the broker and the database accepts writes."""
        connected = self.mqtt_connected._value.get() == 1
        db_ok = self.db_ok._value.get() == 1
        last = self.last_commit._value.get()
        return connected and db_ok, {
            "mqtt_connected": connected,
            "database_ok": db_ok,
            "seconds_since_commit": round(time.time() - last, 3) if last else None,
        }


class SupervisorMetrics(Metrics):
    """The supervisor's: the consume loop's (named as the collector's, since it is the same loop) and what it judged.

    `yiwang_supervisor_alerts_raised` counts what the rules raised in committed batches: a batch the broker sends
    again after a crash counts again, while the alert table stores each once (unique per vehicle, kind and time).
    """

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        self.judged = Counter("yiwang_supervisor_fixes_judged", "Fixes judged in committed batches.", registry=r)
        self.raised = Counter(
            "yiwang_supervisor_alerts_raised",
            "Alerts the rules raised in committed batches, by kind.",
            ["kind"],
            registry=r,
        )
        self.judge_lag = Histogram(
            "yiwang_supervisor_lag_seconds",
            "From receipt to the commit of the judgement of a batch's oldest message.",
            buckets=_SECONDS_BUCKETS,
            registry=r,
        )
