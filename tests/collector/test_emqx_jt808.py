"""EMQX's JT/T 808 JSON read as positions: EMQX's own examples (tests/support/emqx_jt808.py), each field
checked against the frame it came from, and against Yiwang's own codec reading the same bytes."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from collector import emqx_jt808
from collector.contract import Limits
from collector.invalid import InvalidMessage
from collector.mqtt import emqx_subscriptions
from domain.dead_letter import Reason
from domain.jt808.framing import Frame, Framer
from domain.jt808.header import parse_packet
from domain.jt808.location import Location
from domain.jt808.messages import LocationBatch, LocationReport, decode
from domain.position import Position
from tests.support.emqx_jt808 import (
    GUIDE_LOCATION_REPORT,
    GUIDE_TERMINAL_TO_SERVER,
    LOCATION_BATCH,
    LOCATION_BATCH_FRAME,
    LOCATION_REPORT,
    LOCATION_REPORT_FRAME,
)
from yiwang.settings import Settings

PHONE = "018876638972"
VEHICLE = "v-haikou-1"
# Received a few minutes after the report's fix (2017-10-19 19:35:38 GMT+8, 11:35:38 UTC).
RECEIVED = datetime(2017, 10, 19, 11, 40, tzinfo=UTC)
LIMITS = Limits()


def parse(message: dict[str, Any] | bytes, phone: str = PHONE, limits: Limits = LIMITS) -> list[Position]:
    payload = message if isinstance(message, bytes) else orjson.dumps(message)
    rows, rejected = emqx_jt808.parse(VEHICLE, phone, payload, RECEIVED, limits)
    assert rejected == []
    return rows


def refusal(message: dict[str, Any] | bytes, limits: Limits = LIMITS) -> Reason:
    """Why the message, or its one location, is refused."""
    payload = message if isinstance(message, bytes) else orjson.dumps(message)
    try:
        rows, rejected = emqx_jt808.parse(VEHICLE, PHONE, payload, RECEIVED, limits)
    except InvalidMessage as exc:
        return exc.reason
    assert rows == []
    assert len(rejected) == 1
    return rejected[0].reason


def with_body(**fields: object) -> dict[str, Any]:
    message = copy.deepcopy(LOCATION_REPORT)
    message["body"].update(fields)
    return message


def codec(frame: bytes) -> list[Location]:
    """The locations Yiwang's own JT/T 808 codec reads from the same frame."""
    (item,) = Framer().feed(frame)
    assert isinstance(item, Frame)
    packet = parse_packet(item.packet)
    assert packet.header.phone == PHONE.lstrip("0")
    message = decode(packet.header, packet.body)
    if isinstance(message, LocationReport):
        return [message.location]
    assert isinstance(message, LocationBatch)
    return list(message.locations)


def test_emqxs_location_report_is_one_position_in_the_contracts_units() -> None:
    """t_case04: latitude 20019815 and longitude 110323793 millionths of a degree, altitude 14 m, speed 0, direction
    39, 171019193538 in GMT+8, status 0x40000 (GPS used, ACC off), item 0x01 mileage 16306 tenths of km, 0x31 no
    satellites; the signal, I/O and analog items and the recorder's speed are not part of a position."""
    assert parse(LOCATION_REPORT) == [
        Position(
            VEHICLE,
            datetime(2017, 10, 19, 11, 35, 38, tzinfo=UTC),
            RECEIVED,
            20.019815,
            110.323793,
            0.0,  # km/h
            39.0,  # degrees
            False,  # status bit 0
            1630.6,  # km
            False,  # a live report, not a blind-zone resend
            14.0,  # m
            0,  # satellites
            None,  # accuracy: JT/T 808 has none
            None,  # state of charge: not in 0x0200
            None,  # fuel: no item 0x02
            0,  # the alarm word, as received
            0x40000,  # the status word, as received
        )
    ]


def test_emqxs_blind_zone_batch_is_five_positions_in_their_order_each_marked_blind() -> None:
    """t_case05: a 0x0704 of type 1 (blind-zone resend), five fixes 5 s to 1 min apart, status 0x40003 (ACC on,
    positioned, GPS), 12 satellites; speed 166 is 16.6 km/h, mileage 15445 is 1544.5 km."""
    rows = parse(LOCATION_BATCH)
    assert [(r.time, r.latitude, r.longitude, r.speed, r.heading, r.odometer, r.altitude) for r in rows] == [
        (datetime(2017, 8, 31, 2, 49, 33, tzinfo=UTC), 20.017963, 110.220113, 16.6, 171.0, 1544.5, 31.0),
        (datetime(2017, 8, 31, 2, 49, 38, tzinfo=UTC), 20.017738, 110.220290, 22.2, 126.0, 1544.5, 29.0),
        (datetime(2017, 8, 31, 2, 50, 11, tzinfo=UTC), 20.016606, 110.223696, 42.5, 109.0, 1544.9, 37.0),
        (datetime(2017, 8, 31, 2, 51, 11, tzinfo=UTC), 20.011755, 110.231576, 64.8, 114.0, 1545.9, 43.0),
        (datetime(2017, 8, 31, 2, 52, 14, tzinfo=UTC), 20.011896, 110.242581, 75.9, 83.0, 1547.1, 43.0),
    ]
    assert {(r.vehicle_id, r.received_at, r.ignition, r.blind, r.satellites, r.alarm, r.status) for r in rows} == {
        (VEHICLE, RECEIVED, True, True, 12, 0, 0x40003)
    }


@pytest.mark.parametrize(
    ("message", "frame"), [(LOCATION_REPORT, LOCATION_REPORT_FRAME), (LOCATION_BATCH, LOCATION_BATCH_FRAME)]
)
def test_emqxs_json_and_yiwangs_codec_of_the_same_frame_give_the_same_fixes(
    message: dict[str, Any], frame: bytes
) -> None:
    """EMQX passes the wire's numbers on; scaled here, they must be what Yiwang's own gateway reads from the bytes."""
    read = codec(frame)
    assert [
        (r.time, r.latitude, r.longitude, r.speed, r.heading, r.ignition, r.odometer, r.altitude, r.satellites)
        for r in parse(message)
    ] == [
        (
            f.time,
            f.latitude,
            f.longitude,
            f.speed,
            float(f.direction),
            f.ignition,
            f.mileage,
            float(f.altitude),
            f.satellites,
        )
        for f in read
    ]
    assert [(r.alarm, r.status) for r in parse(message)] == [(int(f.alarm), int(f.status)) for f in read]


def test_a_regular_batch_is_not_blind() -> None:
    message = copy.deepcopy(LOCATION_BATCH)
    message["body"]["type"] = 0
    assert {r.blind for r in parse(message)} == {False}


def test_the_south_and_west_bits_make_the_coordinates_negative() -> None:
    (row,) = parse(with_body(status=0x40000 | 0b1100))
    assert (row.latitude, row.longitude) == (-20.019815, -110.323793)


def test_ignition_is_status_bit_0_and_fuel_is_item_0x02_in_tenths_of_a_litre() -> None:
    message = with_body(status=1)
    message["body"]["extra"]["fuel_meter"] = 523
    (row,) = parse(message)
    assert (row.ignition, row.fuel) == (True, 52.3)


def test_a_fix_without_additional_items_has_no_odometer_fuel_or_satellites() -> None:
    message = copy.deepcopy(LOCATION_REPORT)
    del message["body"]["extra"]
    (row,) = parse(message)
    assert (row.odometer, row.fuel, row.satellites) == (None, None, None)


def test_the_phone_matches_with_its_padding_zeros_stripped_on_both_sides() -> None:
    """2013 terminals pad the number to 12 BCD digits, 2019 ones to 20; the guide writes it as a number."""
    for phone in ("018876638972", "18876638972", "00000000018876638972"):
        message = copy.deepcopy(LOCATION_REPORT)
        message["header"]["phone"] = 18876638972
        assert len(parse(message, phone=phone)) == 1


def test_the_guides_location_example_filled_in_is_read_whatever_else_it_carries() -> None:
    """The guide's example with its placeholders filled (and its msg_id 1, copied from the example above it, made
    512): every key it adds that a position does not use is passed over."""
    values = {"latitude": 20019815, "longitude": 110323793, "time": '"171019193538"', "status": 3, "mileage": 16306}
    text = re.sub(r'"(\w+)": VAL', lambda m: f'"{m[1]}": {values.get(m[1], 7)}', GUIDE_LOCATION_REPORT)
    text = text.replace('"msg_id" : 1,', '"msg_id" : 512,')
    (row,) = parse(text.encode(), phone="13900000000")
    assert (row.latitude, row.longitude, row.speed, row.heading, row.ignition, row.odometer, row.altitude) == (
        20.019815,
        110.323793,
        0.7,
        7.0,
        True,
        1630.6,
        7.0,
    )


@pytest.mark.parametrize(
    ("message", "ignored"),
    [
        # The guide's own example: a terminal's general response (0x0001), its length filled in (5 bytes).
        (GUIDE_TERMINAL_TO_SERVER.replace("VAL", "5").encode(), "0x0001"),
        ({"header": {"msg_id": 2, "encrypt": 0, "len": 0, "phone": PHONE, "msg_sn": 3}, "body": {}}, "0x0002"),
        ({"header": {"msg_id": 256, "phone": PHONE, "msg_sn": 1}, "body": {"province": 58, "city": 59}}, "0x0100"),
        ({"header": {"msg_id": 258, "phone": PHONE, "msg_sn": 2}, "body": {"code": "123456"}}, "0x0102"),
        ({"header": {"msg_id": 3, "phone": PHONE, "msg_sn": 4}, "body": {}}, "0x0003"),
    ],
)
def test_a_message_without_a_position_is_ignored_not_refused(message: dict[str, Any] | bytes, ignored: str) -> None:
    payload = message if isinstance(message, bytes) else orjson.dumps(message)
    phone = "013900000000" if isinstance(message, bytes) else PHONE
    with pytest.raises(emqx_jt808.Ignored) as caught:
        emqx_jt808.parse(VEHICLE, phone, payload, RECEIVED, LIMITS)
    assert caught.value.message == ignored


def _batch_of(items: list[Any]) -> dict[str, Any]:
    message = copy.deepcopy(LOCATION_BATCH)
    message["body"]["location"] = items
    return message


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b'{"header": {"msg_id": 512', Reason.MALFORMED_JSON),
        (b"\xff not utf-8", Reason.MALFORMED_JSON),
        (orjson.dumps([LOCATION_REPORT]), Reason.BAD_SHAPE),
        (orjson.dumps(LOCATION_REPORT["body"]), Reason.BAD_SHAPE),
        ({"header": {"msg_id": "512", "phone": PHONE}, "body": {}}, Reason.INVALID_FIELD),
        ({**LOCATION_REPORT, "header": {**LOCATION_REPORT["header"], "phone": "013900000000"}}, Reason.DEVICE_MISMATCH),
        ({**LOCATION_REPORT, "header": {**LOCATION_REPORT["header"], "encrypt": 1}}, Reason.UNSUPPORTED_MESSAGE),
        ({**LOCATION_REPORT, "body": None}, Reason.INVALID_FIELD),
        (with_body(latitude=None), Reason.INVALID_FIELD),
        (with_body(latitude=20.019815), Reason.INVALID_FIELD),  # EMQX gives the integer millionths
        (with_body(latitude=-20019815), Reason.INVALID_FIELD),  # the hemisphere is a status bit
        (with_body(time="171019"), Reason.INVALID_FIELD),
        (with_body(time="171319193538"), Reason.INVALID_FIELD),  # month 13
        (with_body(time=171019193538), Reason.INVALID_FIELD),
        (with_body(latitude=95_000_000), Reason.IMPOSSIBLE_COORDINATES),
        (with_body(longitude=181_000_000), Reason.IMPOSSIBLE_COORDINATES),
        (with_body(latitude=0, longitude=0), Reason.IMPOSSIBLE_COORDINATES),  # no fix
        (with_body(direction=360), Reason.INVALID_FIELD),
        (with_body(speed=4001), Reason.INVALID_FIELD),  # 400.1 km/h
        (with_body(altitude=9001), Reason.INVALID_FIELD),
        (with_body(alarm=2**32), Reason.INVALID_FIELD),
        (with_body(time="991231235959"), Reason.FUTURE_TIME),
        ({**LOCATION_BATCH, "body": {"type": 1}}, Reason.INVALID_FIELD),
        ({**LOCATION_BATCH, "body": {"type": 1, "location": {"a": 1}}}, Reason.INVALID_FIELD),
        (_batch_of([LOCATION_REPORT["body"]] * 1001), Reason.OVERSIZE),
        (orjson.dumps({**LOCATION_REPORT, "pad": "x" * 70_000}), Reason.OVERSIZE),
    ],
)
def test_a_malformed_message_is_refused_with_its_reason(message: dict[str, Any] | bytes, reason: Reason) -> None:
    assert refusal(message) == reason


def test_a_fix_before_the_oldest_time_is_too_old() -> None:
    assert refusal(LOCATION_REPORT, Limits(oldest=datetime(2020, 1, 1, tzinfo=UTC))) == Reason.TOO_OLD


def test_one_bad_location_of_a_batch_is_refused_alone() -> None:
    good = LOCATION_BATCH["body"]["location"]
    rows, rejected = emqx_jt808.parse(
        VEHICLE, PHONE, orjson.dumps(_batch_of([good[0], {**good[1], "time": "x"}, good[2]])), RECEIVED, LIMITS
    )
    assert [r.time.minute for r in rows] == [49, 50]
    assert [(r.reason, r.detail.split(":")[0]) for r in rejected] == [(Reason.INVALID_FIELD, "location 1")]


def test_the_phone_is_the_third_level_of_emqxs_up_topic_only() -> None:
    assert emqx_jt808.phone_of("jt808/018876638972/018876638972/up") == "018876638972"
    assert emqx_jt808.phone_of("jt808/client-1/13900000000/up") == "13900000000"
    for topic in (
        "jt808/018876638972/018876638972/dn",
        "jt808/x/018876638972/up/more",
        "jt808/x/phone/up",
        "yiwang/vehicle/v1/position",
        "jt808/x//up",
    ):
        assert emqx_jt808.phone_of(topic) is None


def test_the_collector_subscribes_to_emqxs_up_topic_only_when_told_and_in_its_shared_group() -> None:
    assert emqx_subscriptions(Settings()) == []
    assert emqx_subscriptions(Settings(emqx_jt808=True)) == ["jt808/+/+/up"]
    assert emqx_subscriptions(Settings(emqx_jt808=True, mqtt_shared_group="city")) == ["$share/city/jt808/+/+/up"]
