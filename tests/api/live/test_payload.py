"""What the live map weighs: coordinates to a millionth of a degree (some 0.1 m, what JT/T 808 terminals send),
on the whole map, a filtered map and the stream's changes alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from api.live.feed import LiveFeed
from api.live.subscriptions import Filter
from db.live import LiveVehicle
from domain.position import Position


async def test_the_map_writes_coordinates_to_a_millionth_of_a_degree_everywhere() -> None:
    start = datetime.now(UTC)
    fix = Position("v1", start, start, 29.312345678901, 117.123456789012, 12.5, 90.0, True)
    feed = LiveFeed(offline_after=600)
    feed.load([LiveVehicle("v1", "A", "P-1", "active", None, None, None, fix)])
    feed.tick(start)
    for filter_ in (Filter(), Filter(organisations=frozenset({"A"}))):
        [feature] = orjson.loads(feed.snapshot(filter_, start))["features"]
        assert feature["geometry"]["coordinates"] == [117.123457, 29.312346]
    later = start + timedelta(seconds=1)
    with feed.subscribe(Filter(), later) as subscription:
        feed.take([Position("v1", later, later, 29.30000049, 117.99999951, 12.5, 90.0, True)])
        feed.tick(later)
        [message] = await subscription.next()
    [feature] = orjson.loads(message)["features"]
    assert feature["geometry"]["coordinates"] == [118.0, 29.3]
