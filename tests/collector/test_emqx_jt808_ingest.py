"""Through the real broker, collector and database: EMQX's JSON on `jt808/<clientid>/<phone>/up`, published by an
account that may write nothing else (as EMQX bridged into the broker would), is stored as the positions of the
vehicle registered with that terminal id; heartbeats are counted, bad messages and unknown terminals become dead
letters, and the collector goes on."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest

from collector.metrics import Metrics
from domain.registry import RegistryDocument, Vehicle
from tests.support.broker import EMQX_GATEWAY, EMQX_GATEWAY_PASSWORD, publish
from tests.support.emqx_jt808 import LOCATION_BATCH, LOCATION_REPORT
from tests.support.registry import Devices, import_registry
from tests.support.stack import settings_for
from tests.support.waiting import eventually, wait_for_count
from yiwang.settings import Settings
from yiwang.stack import Stack

POSITIONS_OF = "SELECT count(*) FROM position WHERE vehicle_id = %s"


@pytest.fixture
def settings(stack: Stack, tag: str) -> Settings:
    return settings_for(stack, tag, emqx_jt808=True)


def emqx(message: dict[str, Any], phone: str, **body: object) -> bytes:
    """One of EMQX's examples as the terminal `phone` sent it, with these fields of its body changed."""
    message = copy.deepcopy(message)
    message["header"]["phone"] = phone
    message["body"].update(body)
    return orjson.dumps(message)


async def test_emqxs_positions_are_stored_for_the_vehicle_with_that_terminal_id(
    settings: Settings, devices: Devices, collector: Metrics, tag: str
) -> None:
    number = int(tag, 16) % 10**9
    # The registry holds the number without its padding; EMQX gives the 12 BCD digits of a 2013 terminal.
    terminal, phone, stranger = f"13{number:09d}", f"013{number:09d}", f"014{number:09d}"
    vehicle = f"v-{tag}-jt808"
    await import_registry(
        settings.database_url,
        RegistryDocument(
            vehicles=[
                Vehicle(
                    id=vehicle,
                    organisation_id=devices.organisation,
                    plate=f"琼A·{tag}",
                    energy="gasoline",
                    terminal_id=terminal,
                )
            ]
        ),
    )
    client = f"emqx-{tag}"
    up = f"jt808/{client}/{phone}/up"
    heartbeat = {"header": {"msg_id": 2, "encrypt": 0, "len": 0, "phone": phone, "msg_sn": 7}, "body": {}}
    await publish(
        settings.mqtt_port,
        [
            (up, orjson.dumps(heartbeat)),
            (up, emqx(LOCATION_REPORT, phone)),
            (up, emqx(LOCATION_BATCH, phone)),
            (f"jt808/{client}/{stranger}/up", emqx(LOCATION_REPORT, stranger)),
            (up, b'{"header": {"msg_id": 512, "phone": '),
            (up, emqx(LOCATION_REPORT, phone, time="171319193538")),
        ],
        username=EMQX_GATEWAY,
        password=EMQX_GATEWAY_PASSWORD,
    )
    url = settings.database_url
    assert await wait_for_count(url, POSITIONS_OF, [vehicle], 6) == 6
    dead = "SELECT count(*) FROM dead_letter WHERE topic LIKE %s"
    assert await wait_for_count(url, dead, [f"jt808/{client}/%"], 3) == 3

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT time, latitude, longitude, speed, heading, odometer, ignition, blind, altitude, satellites,
                      alarm, status
               FROM position WHERE vehicle_id = %s ORDER BY time""",
            [vehicle],
        ).fetchall()
        letters = conn.execute(
            "SELECT reason, device_id, topic FROM dead_letter WHERE topic LIKE %s ORDER BY reason",
            [f"jt808/{client}/%"],
        ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (datetime(2017, 8, 31, 2, 49, 33, tzinfo=UTC), 20.017963, 110.220113, 16.6, 171.0, 1544.5),
        (datetime(2017, 8, 31, 2, 49, 38, tzinfo=UTC), 20.017738, 110.220290, 22.2, 126.0, 1544.5),
        (datetime(2017, 8, 31, 2, 50, 11, tzinfo=UTC), 20.016606, 110.223696, 42.5, 109.0, 1544.9),
        (datetime(2017, 8, 31, 2, 51, 11, tzinfo=UTC), 20.011755, 110.231576, 64.8, 114.0, 1545.9),
        (datetime(2017, 8, 31, 2, 52, 14, tzinfo=UTC), 20.011896, 110.242581, 75.9, 83.0, 1547.1),
        (datetime(2017, 10, 19, 11, 35, 38, tzinfo=UTC), 20.019815, 110.323793, 0.0, 39.0, 1630.6),
    ]
    # ignition, blind (the batch is a blind-zone resend, 0x0704 type 1; the report is live), satellites, alarm, status
    assert [(r[6], r[7], r[9], r[10], r[11]) for r in rows] == [(True, True, 12, 0, 0x40003)] * 5 + [
        (False, False, 0, 0, 0x40000)
    ]
    assert [r[8] for r in rows] == [31.0, 29.0, 37.0, 43.0, 43.0, 14.0]
    assert letters == [
        ("invalid_field", vehicle, up),
        ("malformed_json", vehicle, up),
        ("unknown_device", None, f"jt808/{client}/{stranger}/up"),
    ]

    def sample(name: str, labels: dict[str, str]) -> float | None:
        return collector.registry.get_sample_value(name, labels)

    await eventually(lambda: sample("yiwang_collector_ignored_total", {"message": "0x0002"}) == 1)
    assert sample("yiwang_collector_messages_received_total", {"family": "emqx_jt808"}) == 6

    # The collector goes on: the terminal's next report is stored.
    await publish(
        settings.mqtt_port,
        [(up, emqx(LOCATION_REPORT, phone, time="171019193608"))],
        username=EMQX_GATEWAY,
        password=EMQX_GATEWAY_PASSWORD,
    )
    assert await wait_for_count(url, POSITIONS_OF, [vehicle], 7) == 7


async def test_a_phone_that_two_vehicles_terminal_ids_share_stores_on_neither(
    settings: Settings, devices: Devices, collector: Metrics, tag: str
) -> None:
    """The registry tells `013…` and `13…` apart; without their zeros they are one phone, so neither vehicle gets its
    positions (before: whichever registry row came last did) and the message is refused as from an unknown one."""
    number = int(tag, 16) % 10**9
    padded, bare = f"015{number:09d}", f"15{number:09d}"
    vehicles = {terminal: f"v-{tag}-{terminal}" for terminal in (padded, bare)}
    await import_registry(
        settings.database_url,
        RegistryDocument(
            vehicles=[
                Vehicle(id=vehicle, organisation_id=devices.organisation, plate=f"琼B·{tag[:4]}{len(terminal)}",
                        energy="gasoline", terminal_id=terminal)
                for terminal, vehicle in vehicles.items()
            ]
        ),
    )  # fmt: skip
    up = f"jt808/emqx-{tag}/{padded}/up"
    await publish(
        settings.mqtt_port, [(up, emqx(LOCATION_REPORT, padded))], username=EMQX_GATEWAY, password=EMQX_GATEWAY_PASSWORD
    )
    url = settings.database_url
    dead = "SELECT count(*) FROM dead_letter WHERE topic = %s AND reason = 'unknown_device'"
    assert await wait_for_count(url, dead, [up], 1) == 1
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*) FROM position WHERE vehicle_id = ANY(%s)", [list(vehicles.values())])
        assert stored.fetchone() == (0,)
