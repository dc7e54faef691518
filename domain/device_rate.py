"""How much one device may send: a token bucket of messages and one of bytes per device.

Every device gets the same allowance: each bucket refills at its rate per minute and holds at most
`burst_minutes` of it, so that a device that was quiet (or whose messages waited at the broker while
the collector was away) may send a backlog at once, and a device that keeps sending faster than the
rate is held to the rate. A message that finds either bucket short takes nothing from them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Allowance:
    """What every device may send. A rate of 0 turns that bucket off."""

    messages_per_minute: float
    bytes_per_minute: float
    burst_minutes: float

    @property
    def limited(self) -> bool:
        return self.messages_per_minute > 0 or self.bytes_per_minute > 0


@dataclass(slots=True)
class _Bucket:
    messages: float
    bytes: float
    at: float


class DeviceRate:
    """The buckets of every device seen, keyed by whatever names a sender (a device id).

    Times are seconds on any clock that does not jump far backwards; a step back refills nothing.
    The caller keeps the keys bounded (the collector uses registered device ids and one shared key).
    """

    def __init__(self, allowance: Allowance) -> None:
        self.allowance = allowance
        self._message_rate = allowance.messages_per_minute / 60
        self._byte_rate = allowance.bytes_per_minute / 60
        self._message_cap = allowance.messages_per_minute * allowance.burst_minutes
        self._byte_cap = allowance.bytes_per_minute * allowance.burst_minutes
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str, size: int, at: float) -> bool:
        """Whether a message of `size` bytes from `key` at time `at` is within the allowance; takes it if so."""
        if not self.allowance.limited:
            return True
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._message_cap, self._byte_cap, at)
        elapsed = max(0.0, at - bucket.at)
        bucket.at = max(bucket.at, at)
        messages = min(self._message_cap, bucket.messages + elapsed * self._message_rate)
        size_left = min(self._byte_cap, bucket.bytes + elapsed * self._byte_rate)
        ok = (self._message_rate == 0 or messages >= 1) and (self._byte_rate == 0 or size_left >= size)
        if ok:
            messages -= 1 if self._message_rate else 0
            size_left -= size if self._byte_rate else 0
        bucket.messages, bucket.bytes = messages, size_left
        return ok
