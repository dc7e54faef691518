"""The device contract's pure parsing, as a device maker relies on it: no broker, no database.

Each test names a promise of docs/device-protocol.md: which timestamps are read as which instant, what
makes a payload unusable as a whole, and what refuses one item while the rest of an array is stored.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector import position, reading
from collector.contract import EPOCH, Limits, decode_items, to_utc
from collector.families import route
from collector.invalid import InvalidMessage
from domain.dead_letter import Reason

RECEIVED = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
LIMITS = Limits()
MS = timedelta(milliseconds=1)


def fix(**changes: Any) -> dict[str, Any]:
    """A valid position item with the required fields only, changed as given."""
    item: dict[str, Any] = {
        "time": "2026-03-02T16:25:40+08:00",
        "latitude": 29.291536,
        "longitude": 117.207118,
        "speed": 42.5,
        "heading": 87,
        "odometer": 18234.6,
        "ignition": True,
    }
    item.update(changes)
    return item


def meter_reading(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"time": "2026-03-02T16:15:00+08:00", "register": 12873.42}
    item.update(changes)
    return item


def parse_reading(body: Any, *, limits: Limits = LIMITS, received: datetime = RECEIVED) -> Any:
    return reading.parse("m-0001", orjson.dumps(body), received, limits)


def parse_position(body: Any, *, limits: Limits = LIMITS, received: datetime = RECEIVED) -> Any:
    return position.parse("v-0042", orjson.dumps(body), received, limits)


def refused_whole(call: Any) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as info:
        call()
    return info.value


# --- to_utc: which instant a timestamp names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-02T16:30:00+08:00", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),  # China Standard Time
        ("2026-03-02T00:30:00+08:00", datetime(2026, 3, 1, 16, 30, tzinfo=UTC)),  # local midnight is the day before
        ("2026-03-02T08:30:00Z", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        ("2026-03-02T08:30:00+00:00", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        ("2026-03-01T21:00:00-11:30", datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        ("2026-03-02T16:30:00.250+08:00", datetime(2026, 3, 2, 8, 30, 0, 250_000, tzinfo=UTC)),
        ("2026-03-02T16:30:00.123456+08:00", datetime(2026, 3, 2, 8, 30, 0, 123_456, tzinfo=UTC)),
    ],
)
def test_rfc3339_with_an_offset_is_read_as_the_instant_it_names(text: str, utc: datetime) -> None:
    got = to_utc(text)
    assert got == utc
    assert got.utcoffset() == timedelta(0), "stored in UTC whatever offset the device wrote"


@pytest.mark.parametrize(
    ("ms", "utc"),
    [
        (0, EPOCH),
        (1772440200000, datetime(2026, 3, 2, 8, 30, tzinfo=UTC)),
        (1772440200123, datetime(2026, 3, 2, 8, 30, 0, 123_000, tzinfo=UTC)),
    ],
)
def test_epoch_milliseconds_count_from_1970_utc(ms: int, utc: datetime) -> None:
    assert to_utc(ms) == utc


@pytest.mark.parametrize(
    "text", ["2026-03-02T16:30:00", "2026-03-02 16:30:00", "2026-03-02T16:30:00.500", "2026-03-02"]
)
def test_a_timestamp_without_offset_is_refused_not_guessed(text: str) -> None:
    # A GMT+8 terminal and a UTC server would otherwise disagree by eight hours without anyone noticing.
    with pytest.raises(ValueError, match="offset"):
        to_utc(text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_times(value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message differs by path; the type is the contract
        to_utc(value)


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_taken_for_epoch_milliseconds(value: bool) -> None:
    # bool is an int in Python; True must not become 1970-01-01T00:00:00.001Z.
    with pytest.raises(ValueError, match="boolean"):
        to_utc(value)


@pytest.mark.parametrize("value", [None, [1772440200000], {"ms": 1772440200000}, "yesterday", "", "1772440200000"])
def test_anything_else_is_not_a_timestamp(value: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        to_utc(value)


@pytest.mark.parametrize("ms", [10**20, -(10**20), 2**63])
def test_epoch_milliseconds_beyond_any_calendar_are_refused(ms: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        to_utc(ms)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
def test_offsets_at_the_edge_of_the_calendar_are_an_invalid_field_not_a_crash(text: str) -> None:
    # Must be a ValueError (pydantic turns it into invalid_field); anything else escapes the parser.
    with pytest.raises(ValueError):  # noqa: PT011
        to_utc(text)


def test_a_time_at_the_edge_of_the_calendar_refuses_its_item_and_keeps_the_others() -> None:
    rows, rejected = parse_reading([meter_reading(), meter_reading(time="0001-01-01T00:00:00+08:00")])
    assert len(rows) == 1
    assert [r.reason for r in rejected] == [Reason.INVALID_FIELD]


# Whole-minute offsets: RFC 3339 has no seconds in an offset.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
aware = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)
# Inside the default bounds when received at the end of 2199.
storable = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2199, 12, 31), timezones=offsets)


@given(aware)
def test_any_aware_time_round_trips_through_rfc3339(moment: datetime) -> None:
    assert to_utc(moment.isoformat()) == moment
    utc_text = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert to_utc(utc_text) == moment


@given(aware)
def test_any_aware_time_round_trips_through_epoch_milliseconds(moment: datetime) -> None:
    ms = (moment - EPOCH) // MS  # exact integer arithmetic, no float rounding
    got = to_utc(ms)
    assert got == moment - (moment - EPOCH) % MS, "the instant, truncated to the millisecond"
    assert (got - EPOCH) // MS == ms


@given(storable)
def test_one_instant_in_any_format_is_one_key_so_a_resend_is_a_duplicate(moment: datetime) -> None:
    # The storage key is (device, UTC instant): resending in another offset or as epoch ms stores nothing new.
    moment = moment - (moment - EPOCH) % MS
    forms: list[object] = [
        moment.isoformat(),
        moment.astimezone(timezone(timedelta(hours=8))).isoformat(),
        moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        (moment - EPOCH) // MS,
    ]
    rows, rejected = reading.parse(
        "m-0001",
        orjson.dumps([{"time": t, "register": 1.0} for t in forms]),
        datetime(2200, 1, 1, tzinfo=UTC),
        LIMITS,
    )
    assert rejected == []
    assert {(row.meter_id, row.time) for row in rows} == {("m-0001", moment)}


# --- time bounds: future and too old -----------------------------------------------------------------------


def test_a_time_up_to_the_future_limit_is_stored_and_one_millisecond_more_is_refused() -> None:
    edge = RECEIVED + LIMITS.max_future
    rows, rejected = parse_reading([meter_reading(time=edge.isoformat()), meter_reading(time=(edge + MS).isoformat())])
    assert [row.time for row in rows] == [edge]
    assert [r.reason for r in rejected] == [Reason.FUTURE_TIME]
    assert rejected[0].detail.startswith("item 1:")


def test_the_future_limit_is_ten_minutes_by_default() -> None:
    assert LIMITS.max_future == timedelta(minutes=10)


def test_the_future_is_judged_against_receipt_not_the_device_clock() -> None:
    # A reading from tomorrow (a terminal clock running a day fast) is refused...
    rows, rejected = parse_reading(meter_reading(time="2026-03-03T16:15:00+08:00"))
    assert (rows, [r.reason for r in rejected]) == ([], [Reason.FUTURE_TIME])
    # ...but the same message received a day later (a broker backlog) is not.
    rows, rejected = parse_reading(meter_reading(time="2026-03-03T16:15:00+08:00"), received=RECEIVED + timedelta(1))
    assert (len(rows), rejected) == (1, [])


def test_a_smaller_future_limit_is_honoured() -> None:
    limits = Limits(max_future=timedelta(0))
    rows, rejected = parse_reading(meter_reading(time=(RECEIVED + MS).isoformat()), limits=limits)
    assert (rows, [r.reason for r in rejected]) == ([], [Reason.FUTURE_TIME])


def test_times_before_the_oldest_are_refused_as_a_broken_clock() -> None:
    oldest = LIMITS.oldest
    assert oldest == datetime(2000, 1, 1, tzinfo=UTC)
    rows, rejected = parse_position(
        [
            fix(time=0),  # 1970: a terminal without a fix or a real-time clock
            fix(time=(oldest - MS).isoformat()),
            fix(time=oldest.isoformat()),  # the limit itself is accepted
        ]
    )
    assert [row.time for row in rows] == [oldest]
    assert [(r.reason, r.detail.split(":")[0]) for r in rejected] == [
        (Reason.TOO_OLD, "item 0"),
        (Reason.TOO_OLD, "item 1"),
    ]


def test_late_data_within_the_bounds_is_stored_whatever_its_age() -> None:
    # A blind-zone upload of last year is history, not an error.
    rows, rejected = parse_position(fix(time="2025-03-02T16:25:40+08:00", blind=True))
    assert rejected == []
    assert rows[0].time == datetime(2025, 3, 2, 8, 25, 40, tzinfo=UTC)
    assert rows[0].blind is True
    assert rows[0].received_at == RECEIVED


# --- decode_items: the payload as a whole ------------------------------------------------------------------


def test_a_single_object_is_one_item() -> None:
    assert decode_items(b'{"time": 0, "register": 1}', LIMITS) == [{"time": 0, "register": 1}]


def test_an_array_is_its_items_in_order() -> None:
    assert decode_items(b'[{"a": 1}, {"a": 2}, {"a": 3}]', LIMITS) == [{"a": 1}, {"a": 2}, {"a": 3}]


def test_an_empty_array_is_refused_as_bad_shape() -> None:
    error = refused_whole(lambda: decode_items(b"[]", LIMITS))
    assert error.reason is Reason.BAD_SHAPE


@pytest.mark.parametrize("payload", [b'"a string"', b"42", b"null", b"true"])
def test_a_payload_that_is_neither_object_nor_array_is_bad_shape(payload: bytes) -> None:
    assert refused_whole(lambda: decode_items(payload, LIMITS)).reason is Reason.BAD_SHAPE


@pytest.mark.parametrize(
    "payload",
    [
        b'{"time": "2026-03-02T08:00:00Z", "register": 12',  # cut off
        b'{"time": "2026-03-02T08:00:00Z", "register": NaN}',
        b'{"time": "2026-03-02T08:00:00Z", "register": Infinity}',
        b'{"time": "2026-03-02T08:00:00Z", "register": 1e400}',  # overflows a double
        b"\xff\xfe not utf-8",
        b"",
        b"{'time': 0}",  # Python's repr, not JSON
    ],
)
def test_what_is_not_strict_json_is_malformed(payload: bytes) -> None:
    assert refused_whole(lambda: decode_items(payload, LIMITS)).reason is Reason.MALFORMED_JSON


def test_the_item_limit_is_inclusive() -> None:
    limits = Limits(max_items=3)
    assert len(decode_items(orjson.dumps([{}] * 3), limits)) == 3
    error = refused_whole(lambda: decode_items(orjson.dumps([{}] * 4), limits))
    assert error.reason is Reason.OVERSIZE
    assert "4 items" in error.detail


def test_the_default_item_limit_is_1000() -> None:
    assert len(decode_items(orjson.dumps([{}] * 1000), LIMITS)) == 1000
    assert refused_whole(lambda: decode_items(orjson.dumps([{}] * 1001), LIMITS)).reason is Reason.OVERSIZE


def test_the_byte_limit_is_inclusive_and_counts_every_byte() -> None:
    limits = Limits(max_payload_bytes=64)
    body = b'{"time": 0, "register": 1}'
    exact = body + b" " * (64 - len(body))  # whitespace counts too
    assert decode_items(exact, limits) == [{"time": 0, "register": 1}]
    error = refused_whole(lambda: decode_items(exact + b" ", limits))
    assert (error.reason, error.detail) == (Reason.OVERSIZE, "65 bytes, limit 64")


def test_the_byte_limit_is_checked_before_the_json() -> None:
    # An oversize payload is oversize even if it is also garbage: the collector never parses it.
    assert refused_whole(lambda: decode_items(b"x" * 65537, LIMITS)).reason is Reason.OVERSIZE


# --- items inside an array ---------------------------------------------------------------------------------


def test_one_bad_item_is_refused_alone_and_the_others_are_stored() -> None:
    items = [fix(time=f"2026-03-02T16:2{i}:00+08:00") for i in range(5)]
    items[1] = {**items[1], "latitude": 123.0}
    items[3] = {**items[3], "speed": -5.0}
    rows, rejected = parse_position(items)
    assert [row.time.minute for row in rows] == [20, 22, 24]
    assert [(r.reason, r.detail.split(":")[0]) for r in rejected] == [
        (Reason.IMPOSSIBLE_COORDINATES, "item 1"),
        (Reason.INVALID_FIELD, "item 3"),
    ]
    assert "latitude" in rejected[0].detail
    assert "speed" in rejected[1].detail


def _item(valid: bool, i: int) -> object:
    if valid:
        return meter_reading(time=(RECEIVED - timedelta(minutes=15 * i)).isoformat(), register=float(i))
    return meter_reading(register=-1.0)


@given(st.lists(st.booleans(), min_size=1, max_size=50))
def test_any_mix_of_good_and_bad_items_stores_exactly_the_good_ones(good: list[bool]) -> None:
    rows, rejected = parse_reading([_item(ok, i) for i, ok in enumerate(good)])
    assert [row.register for row in rows] == [float(i) for i, ok in enumerate(good) if ok]
    assert [r.detail.split(":")[0] for r in rejected] == [f"item {i}" for i, ok in enumerate(good) if not ok]
    assert all(r.reason is Reason.INVALID_FIELD for r in rejected)


@pytest.mark.parametrize("item", [42, "reading", None, [meter_reading()]])
def test_an_array_element_that_is_not_an_object_is_an_invalid_item(item: object) -> None:
    rows, rejected = parse_reading([meter_reading(), item])
    assert len(rows) == 1
    assert [(r.reason, r.detail.split(":")[0]) for r in rejected] == [(Reason.INVALID_FIELD, "item 1")]


@pytest.mark.parametrize(
    "item",
    [
        {"time": "2026-03-02T16:15:00+08:00"},  # register missing
        meter_reading(register="12873.42"),  # a number in a string
        meter_reading(register=True),  # a boolean is not a number
        meter_reading(register=-0.01),  # registers are not negative
        meter_reading(value=1.0),  # the wire name is `register`
        meter_reading(unit="kWh"),  # unknown fields are refused, not ignored
    ],
)
def test_a_reading_with_a_wrong_field_is_invalid_field(item: dict[str, Any]) -> None:
    rows, rejected = parse_reading(item)
    assert (rows, [r.reason for r in rejected]) == ([], [Reason.INVALID_FIELD])


@pytest.mark.parametrize(
    "changes",
    [
        {"ignition": 1},  # 0/1 is not a boolean
        {"ignition": "on"},
        {"speed": True},  # a boolean is not a number
        {"speed": "42.5"},
        {"speed": 425},  # sent in 0.1 km/h, as JT/T 808 does on the wire: over 400 km/h
        {"heading": 360},
        {"heading": -1},
        {"satellites": 14.0},  # an integer field takes no decimal point
        {"alarm": 2**32},
        {"soc": 101},
        {"altitude": 9001},
        {"colour": "red"},
        {"latitude": "29.291536"},  # a number in a string is a bad field, not a bad coordinate
        {"latitude": None},
    ],
)
def test_a_position_with_a_wrong_field_is_invalid_field(changes: dict[str, Any]) -> None:
    rows, rejected = parse_position(fix(**changes))
    assert (rows, [r.reason for r in rejected]) == ([], [Reason.INVALID_FIELD])


def test_optional_fields_may_be_left_out_or_null() -> None:
    optional = ("altitude", "satellites", "accuracy", "soc", "fuel", "alarm", "status", "vehicle")
    (left_out,), _ = parse_position(fix())
    (nulls,), _ = parse_position(fix(**dict.fromkeys(optional)))
    assert left_out == nulls
    assert (left_out.altitude, left_out.soc, left_out.alarm, left_out.blind) == (None, None, None, False)


def test_raw_alarm_and_status_words_are_kept_as_sent() -> None:
    (row,), _ = parse_position(fix(alarm=2**32 - 1, status=0b11))
    assert (row.alarm, row.status) == (2**32 - 1, 3)


# --- coordinates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"latitude": 90.000001},
        {"latitude": -91},
        {"longitude": 180.5},
        {"longitude": -180.000001},
        {"latitude": 117.207118, "longitude": 29.291536},  # latitude and longitude swapped
        {"latitude": 29291536, "longitude": 117207118},  # JT/T 808 raw x10^6 values, not scaled
    ],
)
def test_coordinates_off_the_globe_are_impossible(changes: dict[str, Any]) -> None:
    rows, rejected = parse_position(fix(**changes))
    assert (rows, [r.reason for r in rejected]) == ([], [Reason.IMPOSSIBLE_COORDINATES])


@pytest.mark.parametrize(("lat", "lon"), [(90, 180), (-90, -180), (0, 117.2), (29.3, 0), (-33.8688, 151.2093)])
def test_coordinates_on_the_globe_are_stored_as_sent(lat: float, lon: float) -> None:
    (row,), rejected = parse_position(fix(latitude=lat, longitude=lon))
    assert rejected == []
    assert (row.latitude, row.longitude) == (lat, lon)


def test_zero_zero_is_a_terminal_without_a_fix_and_is_refused() -> None:
    rows, rejected = parse_position([fix(), fix(latitude=0, longitude=0.0)])
    assert len(rows) == 1
    assert [r.reason for r in rejected] == [Reason.IMPOSSIBLE_COORDINATES]


def test_lower_case_t_and_z_are_read_as_rfc_3339_allows() -> None:
    assert to_utc("2026-03-02t08:30:00z") == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def test_a_fraction_of_an_epoch_millisecond_is_refused() -> None:
    assert to_utc(1772440200123.0) == datetime(2026, 3, 2, 8, 30, 0, 123_000, tzinfo=UTC)
    with pytest.raises(ValueError, match="whole number"):
        to_utc(1772440200123.5)


# --- the device in the topic and in the payload ------------------------------------------------------------


def test_a_payload_may_repeat_the_topic_device() -> None:
    (row,), rejected = parse_reading(meter_reading(meter="m-0001"))
    assert (row.meter_id, rejected) == ("m-0001", [])
    (row,), rejected = parse_position(fix(vehicle="v-0042"))
    assert (row.vehicle_id, rejected) == ("v-0042", [])


def test_the_device_comes_from_the_topic_when_the_payload_does_not_name_it() -> None:
    (row,), _ = parse_reading(meter_reading())
    assert row.meter_id == "m-0001"


@pytest.mark.parametrize("named", ["m-0002", "M-0001", "m-0001 ", "", 1, "not a valid id!"])
def test_a_payload_naming_another_device_is_refused_whole(named: object) -> None:
    error = refused_whole(lambda: parse_reading(meter_reading(meter=named)))
    assert error.reason is Reason.DEVICE_MISMATCH


def test_one_item_naming_another_device_refuses_the_whole_array() -> None:
    # Speaking for another device is not a bad reading: nothing of the message is stored.
    items = [fix(vehicle="v-0042"), fix(vehicle="v-0043", time=1772437270000), fix(time=1772437280000)]
    error = refused_whole(lambda: parse_position(items))
    assert error.reason is Reason.DEVICE_MISMATCH
    assert "v-0043" in error.detail


def test_the_other_familys_device_field_is_just_an_unknown_field() -> None:
    rows, rejected = parse_position(fix(meter="v-0042"))
    assert (rows, [r.reason for r in rejected]) == ([], [Reason.INVALID_FIELD])


# --- topics ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "name", "family", "device_id"),
    [
        ("yiwang", "yiwang/meter/m-0001/reading", "reading", "m-0001"),
        ("yiwang", "yiwang/vehicle/v-0042/position", "position", "v-0042"),
        ("city/yiwang", "city/yiwang/vehicle/JX.H:12_3/position", "position", "JX.H:12_3"),
    ],
)
def test_the_topic_names_the_family_and_the_device(root: str, name: str, family: str, device_id: str) -> None:
    found, found_id = route(root, name)
    assert (found.name, found_id) == (family, device_id)


@pytest.mark.parametrize(
    "name",
    [
        "yiwang/meter/m-0001/position",  # a meter does not send positions
        "yiwang/meters/m-0001/reading",
        "yiwang/meter/m-0001/reading/extra",
        "yiwang/meter/reading",
        "other/meter/m-0001/reading",
        "yiwang/meter/-m1/reading",  # an id starts with a letter or digit
        "yiwang/meter/m 1/reading",
        "yiwang/meter/" + "m" * 65 + "/reading",  # at most 64 characters
    ],
)
def test_any_other_topic_is_unknown(name: str) -> None:
    assert refused_whole(lambda: route("yiwang", name)).reason is Reason.UNKNOWN_TOPIC
