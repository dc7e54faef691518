"""Who receives what of the live map: filters (a user's scope, a unit, a box, some states), batches of changes
encoded once per filter, and each client's mailbox, which holds the newest of each vehicle, never a backlog."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from api.live.encoding import ascii_json
from db.scope import Scope
from domain.vehicles import LiveState

# Alerts a subscriber keeps for sending; beyond that the oldest go (the alert list is the record, not the stream).
_ALERTS_KEPT = 1_000
_NUMBER = r"-?[0-9]+(\.[0-9]+)?"
# A box as the query writes it: west,south,east,north in degrees.
BBOX_PATTERN = rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """A box from its query's text.

    Raises:
        ValueError: it is not four numbers, or not a box on the Earth (the message says why).
    """
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError("bbox is west,south,east,north in degrees") from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError("bbox needs -180 <= west <= east <= 180 and -90 <= south <= north <= 90")
    return west, south, east, north


class Key(NamedTuple):
    """What a filter looks at: where a vehicle belongs, where it is, and its state."""

    organisation_id: str
    longitude: float
    latitude: float
    state: LiveState


@dataclass(frozen=True, slots=True)
class Filter:
    """Which vehicles a subscriber receives: the conditions of GET /positions/live, in memory.

    Equal filters are one group: their features are selected once per batch.
    """

    organisations: frozenset[str] | None = None  # None: every organisation
    bbox: tuple[float, float, float, float] | None = None  # west, south, east, north; edges included
    states: frozenset[str] | None = None  # None: any state

    @classmethod
    def of(
        cls,
        scope: Scope,
        *,
        organisation_id: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        states: Collection[str] = (),
    ) -> Filter:
        """The filter of a user's scope and what the user asked for (one unit, a box, some states)."""
        organisations = scope.organisations
        if organisation_id is not None:
            # One unit, and only if the scope holds it: a unit user asking for another unit gets nothing.
            asked = frozenset({organisation_id})
            organisations = asked if organisations is None else organisations & asked
        return cls(organisations, bbox, frozenset(states) or None)

    @property
    def everything(self) -> bool:
        return self.organisations is None and self.bbox is None and self.states is None

    def matches(self, key: Key) -> bool:
        if self.organisations is not None and key.organisation_id not in self.organisations:
            return False
        if self.bbox is not None:
            west, south, east, north = self.bbox
            if not (west <= key.longitude <= east and south <= key.latitude <= north):
                return False
        return self.states is None or key.state in self.states

    def covers(self, other: Filter) -> bool:
        """Whether this filter lets through every vehicle that `other` lets through (it is as wide or wider)."""
        if self.organisations is not None and (
            other.organisations is None or not other.organisations <= self.organisations
        ):
            return False
        if self.bbox is not None:
            if other.bbox is None:
                return False
            west, south, east, north = self.bbox
            other_west, other_south, other_east, other_north = other.bbox
            if not (west <= other_west and south <= other_south and other_east <= east and other_north <= north):
                return False
        return self.states is None or (other.states is not None and other.states <= self.states)

    def concerns(self, organisation_id: str) -> bool:
        """Whether an alert of this unit is for this subscriber (the unit alone decides: an alert is news
        wherever the vehicle is)."""
        return self.organisations is None or organisation_id in self.organisations


Encoded = bytes | None  # a feature as JSON, or None: the vehicle left the subscriber's filter


class Batch:
    """Changes for subscribers, as one message: `{"type": "changes", "features": [...], "removed": [ids],
    "cursor": "..."}`, the features of vehicles that changed within the filter, the ids of vehicles that left it,
    and the cursor of the map's version they bring the client to (to reconnect with: api/live/resume.py).
    Applying a message twice changes nothing. Subscribers of one filter share a batch, so that it is encoded once
    for all of them."""

    __slots__ = ("_text", "changes", "cursor")

    def __init__(self, changes: dict[str, Encoded], cursor: str) -> None:
        self.changes = changes
        self.cursor = cursor
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The message, encoded once."""
        if self._text is None:
            features = b",".join(data for data in self.changes.values() if data is not None)
            removed = ascii_json(
                orjson.dumps([vehicle_id for vehicle_id, data in self.changes.items() if data is None])
            )
            self._text = (
                b'{"type":"changes","features":[%s],"removed":%s,"cursor":"%s"}'
                % (features, removed, self.cursor.encode())
            ).decode()
        return self._text


class Subscription:
    """One client's mailbox: at most one entry per vehicle, the newest, and the alerts not yet sent.

    Args:
        filter: what the client receives.
        snapshot: the FeatureCollection the client starts from (JSON), taken as it subscribed.
        alerts: whether the client may read alerts (they are pushed only then).
    """

    def __init__(self, filter: Filter, snapshot: bytes, *, alerts: bool = False) -> None:
        self.filter = filter
        self.snapshot = snapshot
        self.alerts = alerts
        self._pending: Batch | None = None
        self._own = False  # whether _pending is this mailbox's alone (merged), or its group's batch
        self._alerts: deque[bytes] = deque(maxlen=_ALERTS_KEPT)
        self._ready = asyncio.Event()

    @property
    def pending(self) -> int:
        """Vehicles waiting to be sent."""
        return len(self._pending.changes) if self._pending is not None else 0

    def offer(self, batch: Batch) -> None:
        """Add a batch of changes; an entry of a vehicle already waiting is replaced (the new one is newer)."""
        if self._pending is None:
            self._pending = batch  # the common case: a client that keeps up sends its group's batch as it is
        elif self._own:
            self._pending.changes.update(batch.changes)
            self._pending.cursor = batch.cursor
        else:
            self._pending, self._own = Batch({**self._pending.changes, **batch.changes}, batch.cursor), True
        self._ready.set()

    def offer_alerts(self, alerts: Sequence[bytes]) -> None:
        """Add alerts (encoded) in the order given; beyond _ALERTS_KEPT waiting, the oldest go."""
        self._alerts.extend(alerts)
        self._ready.set()

    async def next(self) -> list[str]:
        """Wait for news and take all that is waiting, as messages: the alerts first, then the changes."""
        await self._ready.wait()
        self._ready.clear()
        messages = []
        if self._alerts:
            messages.append((b'{"type":"alerts","alerts":[' + b",".join(self._alerts) + b"]}").decode())
            self._alerts.clear()
        taken, self._pending, self._own = self._pending, None, False
        if taken is not None:
            messages.append(taken.text)
        return messages
