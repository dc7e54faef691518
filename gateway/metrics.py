"""Prometheus metrics of the gateway, and its health (served by yiwang/probe.py)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge

log = logging.getLogger(__name__)


class Metrics:
    """The gateway's counters; one instance per gateway, each with its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge("yiwang_gateway_connections", "Terminal connections open now.", registry=r)
        self.connections_refused = Counter(
            "yiwang_gateway_connections_refused",
            "Connections closed as they opened: jt808_max_connections were open.",
            registry=r,
        )
        self.frames = Counter(
            "yiwang_gateway_frames", "Frames read from terminals (good or refused).", ["message"], registry=r
        )
        self.published = Counter(
            "yiwang_gateway_positions_published", "Fixes published to the broker and acknowledged by it.", registry=r
        )
        self.refused = Counter(
            "yiwang_gateway_refused", "Frames, messages and fixes recorded as dead letters.", ["reason"], registry=r
        )
        self.unanswered = Counter(
            "yiwang_gateway_unanswered",
            "Messages left unanswered because the broker or the database was away (the terminal sends again).",
            registry=r,
        )
        self.mqtt_connected = Gauge("yiwang_gateway_mqtt_connected", "1 while connected to the broker.", registry=r)
        self.listening = Gauge("yiwang_gateway_listening", "1 while terminals can connect.", registry=r)

    def health(self) -> tuple[bool, dict[str, object]]:
        """Healthy while terminals can connect and the broker takes publications."""
        connected = self.mqtt_connected._value.get() == 1
        listening = self.listening._value.get() == 1
        return connected and listening, {
            "mqtt_connected": connected,
            "listening": listening,
            "connections": int(self.connections._value.get()),
        }
