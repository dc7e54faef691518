"""Frames published by others, each field checked against the publisher's own breakdown: a round trip through our
own encoder would hide a field we misread the same way both ways.

Sources (each test's docstring names its own):
- Huabao Telematics, "JT808 common message parsing of GPS electronic lock" (2022):
  https://huabaotelematics.com/blog/jt808-common-message-parsing-of-gps-electronic-lock-huabaotelematics-com_b9
- A vendor's registration example sheet:
  https://docs.google.com/spreadsheets/d/1PySxMVfd5K1KfPZohZXD87q0l_3EPONb/edit
- "JT808终端注册应答详细解析": https://e-com-net.com/article/1727706242857644032.htm
- go-jt808's parser tests (2013 and 2019 frames with the fields they decode to):
  https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/parse_test.go and reply_test.go
- xtream-codec's JT/T 808 debug samples (2019 frames with their decoded JSON):
  https://github.com/makeclan/xtream-codec/blob/main/debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/utils/codec-utils.ts
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.dead_letter import Reason
from domain.jt808.errors import InvalidFrame
from domain.jt808.framing import BadFrame, Frame, Framer
from domain.jt808.header import Header, Packet, Version, parse_packet
from domain.jt808.location import Alarm, Status
from domain.jt808.messages import Authentication, Heartbeat, LocationBatch, LocationReport, Registration, decode
from domain.jt808.responses import (
    GeneralResponse,
    RegistrationResponse,
    RegistrationResult,
    Result,
    general_response,
    read_response,
    registration_response,
)
from tests.support.jt808 import GO_0100, wire


def one_packet(text: str) -> Packet:
    (item,) = Framer().feed(wire(text))
    assert isinstance(item, Frame), item
    return parse_packet(item.packet)


def header(phone_digits: str, serial: int, message_id: int, version: Version = Version.V2013) -> Header:
    return Header(
        message_id=message_id,
        version=version,
        protocol_version=1 if version is Version.V2019 else None,
        phone_digits=phone_digits,
        serial=serial,
        body_length=0,
        encryption=0,
        subpackage=None,
    )


HUABAO_0200 = """
7E 02 00 00 52 00 20 02 60 43 23 00 A4 00 02 00
00 00 0C 00 02 01 58 B9 1B 06 CB 70 61 00 46 00
00 00 59 21 09 22 16 37 58 01 04 00 00 00 01 03
02 00 00 25 04 00 00 00 01 30 01 11 31 01 10 E3
01 00 D5 1B 02 20 02 60 43 23 27 95 93 78 61 60
00 12 20 00 00 12 34 27 95 93 78 61 58 00 12 86 7E
"""


def test_huabao_location_report_2013() -> None:
    """Huabao's 0x0200 from a GPS electronic lock, field by field as the page breaks it down:
    https://huabaotelematics.com/blog/jt808-common-message-parsing-of-gps-electronic-lock-huabaotelematics-com_b9
    """
    packet = one_packet(HUABAO_0200)
    head = packet.header
    assert (head.message_id, head.version, head.body_length) == (0x0200, Version.V2013, 0x52)
    assert (head.phone_digits, head.phone, head.serial) == ("002002604323", "2002604323", 0x00A4)
    assert head.subpackage is None
    message = decode(head, packet.body)
    assert isinstance(message, LocationReport)
    fix = message.location
    assert int(fix.alarm) == 0x00020000  # "00 02 00 00 Alarm": bit 17, a bit the lock's maker uses
    assert int(fix.status) == 0x000C0002  # "00 0C 00 02 State"
    assert fix.status == Status.POSITIONED | Status.GPS | Status.BEIDOU
    assert not fix.ignition
    assert fix.latitude == 22.591771  # "01 58 B9 1B Latitude"
    assert fix.longitude == 113.995873  # "06 CB 70 61 Longitude"
    assert fix.altitude == 70  # "00 46 Altitude"
    assert fix.speed == 0.0  # "00 00 Speed"
    assert fix.direction == 89  # "00 59 Direction"
    assert fix.time == datetime(2021, 9, 22, 8, 37, 58, tzinfo=UTC)  # "21 09 22 16 37 58 Time", GMT+8
    assert fix.mileage == 0.1  # "01 04 00 00 00 01 Mileage", tenths of km
    assert fix.recorder_speed == 0.0  # "03 02 00 00 The speed of driving record function"
    assert fix.signal == 0x11  # "30 01 11 Communication network signal strength"
    assert fix.satellites == 0x10  # "31 01 10 GNSS positioning satellite"
    assert fix.fuel is None
    # "25 04 00 00 00 01 Extended vehicle signal status", "E3 01 00 Keep", "D5 ... lock data" (0x1B bytes): kept raw
    assert [item for item, _ in fix.extra] == [0x25, 0xE3, 0xD5]
    assert fix.extra[0][1] == bytes.fromhex("00000001")
    assert len(fix.extra[2][1]) == 0x1B
    assert fix.extra[2][1][1:6] == bytes.fromhex("2002604323")  # "20 02 60 43 23 Master sim card number"


def test_huabao_authentication_2013() -> None:
    """Huabao's 0x0102: the whole body is the code, "8300200260432" (check code 13).
    https://huabaotelematics.com/blog/jt808-common-message-parsing-of-gps-electronic-lock-huabaotelematics-com_b9
    """
    packet = one_packet("7E 01 02 00 0D 00 20 02 60 43 25 00 01 38 33 30 30 32 30 30 32 36 30 34 33 32 13 7E")
    assert (packet.header.message_id, packet.header.phone, packet.header.serial) == (0x0102, "2002604325", 1)
    assert decode(packet.header, packet.body) == Authentication(code=b"8300200260432")


def test_huabao_general_response_is_built_byte_for_byte() -> None:
    """Huabao's 0x8001: serial 0x0009, answering 0x0200 serial 0x00EE with success (check code 43).
    https://huabaotelematics.com/blog/jt808-common-message-parsing-of-gps-electronic-lock-huabaotelematics-com_b9
    """
    published = wire("7E 80 01 00 05 00 20 02 60 43 23 00 09 00 EE 02 00 00 43 7E")
    built = general_response(header("002002604323", 0x00EE, 0x0200), serial=0x0009, result=Result.SUCCESS)
    assert built == published


SHEET_0100 = """
7E 01 00 00 2D 01 91 72 78 56 20 00 0A 00 22 04 4E 37 30 34 34 34 34
43 30 30 33 46 5F 4F 50 45 4E 5F 4A 54 38 30 38 00 00 00 00 32 37 38 35 36 32 30 02
D4 C1 42 32 37 31 39 31 C8 7E
"""


def test_sheet_registration_2013_as_published_is_refused_by_its_own_check_code() -> None:
    """The sheet's 0x0100 announces a 45-byte body (00 2D) but lists 46: its maker field "37 30 34 34 34 34" has
    six bytes where BYTE[5] fits. Its own check code C8 says the same: as published, the bytes give FC.
    https://docs.google.com/spreadsheets/d/1PySxMVfd5K1KfPZohZXD87q0l_3EPONb/edit
    """
    (item,) = Framer().feed(wire(SHEET_0100))
    assert isinstance(item, BadFrame)
    assert item.reason is Reason.BAD_CHECKSUM
    assert item.detail == "check code 0xc8, the bytes give 0xfc"


def test_sheet_registration_2013_with_the_repeated_byte_removed() -> None:
    """The same 0x0100 with the maker field at its five bytes: the check code C8 and the length 0x2D then agree, and
    every field falls where the 2013 table puts it (maker 5, model 20, terminal id 7, colour, plate in GBK).
    https://docs.google.com/spreadsheets/d/1PySxMVfd5K1KfPZohZXD87q0l_3EPONb/edit
    """
    packet = one_packet(SHEET_0100.replace("37 30 34 34 34 34", "37 30 34 34 34"))
    assert (packet.header.phone, packet.header.serial, packet.header.body_length) == ("19172785620", 0x000A, 45)
    assert decode(packet.header, packet.body) == Registration(
        province=0x0022,
        city=0x044E,
        maker="70444",
        model="C003F_OPEN_JT808",
        terminal_id="2785620",
        plate_color=2,
        plate="粤B27191",
    )


def test_sheet_registration_response_is_built_byte_for_byte() -> None:
    """The sheet's 0x8100: platform serial 00 01, answering serial 00 0A with success and the code 01 91 72 78 56 20
    (the terminal's number, sent as bytes), check code 83.
    https://docs.google.com/spreadsheets/d/1PySxMVfd5K1KfPZohZXD87q0l_3EPONb/edit
    """
    published = wire("7E 81 00 00 09 01 91 72 78 56 20 00 01 00 0A 00 01 91 72 78 56 20 83 7E")
    built = registration_response(
        header("019172785620", 0x000A, 0x0100), serial=1, result=RegistrationResult.SUCCESS, code=wire("019172785620")
    )
    assert built == published


def test_e_com_net_registration_response_is_built_byte_for_byte() -> None:
    """A published 0x8100 (its author's labels are shifted; the bytes are: serial 0x0030, reply serial 0x0030,
    result 0, code "shuangwei", check code E0): https://e-com-net.com/article/1727706242857644032.htm
    """
    published = wire("7E 81 00 00 0C 04 04 57 10 31 66 00 30 00 30 00 73 68 75 61 6E 67 77 65 69 E0 7E")
    built = registration_response(
        header("040457103166", 0x0030, 0x0100), serial=0x0030, result=RegistrationResult.SUCCESS, code=b"shuangwei"
    )
    assert built == published


@pytest.mark.parametrize("version", list(Version))
def test_go_jt808_registration_in_both_widths(version: Version) -> None:
    """go-jt808's 0x0100 in 2013 (maker 5, model 20, id 7) and 2019 (11, 30, 30) widths, the same fields:
    https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/parse_test.go
    """
    packet = one_packet(GO_0100[version])
    assert packet.header.version is version
    assert packet.header.phone == {Version.V2013: "12345678901", Version.V2019: "17299841738"}[version]
    assert packet.header.protocol_version == (1 if version is Version.V2019 else None)
    assert decode(packet.header, packet.body) == Registration(
        province=31, city=115, maker="cd", model="www.808.com", terminal_id="7654321", plate_color=1, plate="测A1234"
    )


def test_go_jt808_authentication_2019_and_its_response() -> None:
    """go-jt808's 2019 0x0102 (code length 11, code, IMEI 15, software version 20) and the 0x8001 it answers with:
    https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/parse_test.go and reply_test.go
    """
    packet = one_packet(
        "7e0102402f010000000001729984173800000b3137323939383431373338313233343536373839303132333435332e372e3135"
        "0000000000000000000000000000227e"
    )
    assert (packet.header.version, packet.header.phone_digits) == (Version.V2019, "00000000017299841738")
    assert decode(packet.header, packet.body) == Authentication(
        code=b"17299841738", imei="123456789012345", software_version="3.7.15"
    )
    assert general_response(packet.header, serial=0, result=Result.SUCCESS) == wire(
        "7e80014005010000000001729984173800000000010200877e"
    )


def test_go_jt808_authentication_2013_and_its_response() -> None:
    """go-jt808's 2013 0x0102 and the 0x8001 it answers with (result 1 in their reply test):
    https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/reply_test.go
    """
    packet = one_packet("7e0102000b01234567890100003137323939383431373338b57e")
    assert decode(packet.header, packet.body) == Authentication(code=b"17299841738")
    assert general_response(packet.header, serial=0, result=Result.FAILURE) == wire(
        "7e80010005012345678901000000000102010e7e"
    )


def test_go_jt808_batch_2013_with_an_escaped_latitude() -> None:
    """go-jt808's 0x0704: 2 normal items of 28 bytes; the latitude 0x07203B7E is sent as 07 20 3B 7D 02.
    https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/parse_test.go
    """
    packet = one_packet(
        "7e0704003f0123456789010000000200001c000004000000080007203b7d0202633df7013800030063241001235959001c00000400"
        "0000080007203b7d0202633df7013800030063241001235959b67e"
    )
    message = decode(packet.header, packet.body)
    assert isinstance(message, LocationBatch)
    assert not message.blind
    assert len(message.locations) == 2
    for fix in message.locations:
        assert (int(fix.alarm), int(fix.status)) == (1024, 2048)  # AlarmSign, StatusSign
        assert (fix.latitude, fix.longitude) == (119.552894, 40.058359)  # 119552894, 40058359 (test values)
        assert (fix.altitude, fix.speed, fix.direction) == (312, 0.3, 99)
        assert fix.time == datetime(2024, 10, 1, 15, 59, 59, tzinfo=UTC)  # "2024-10-01 23:59:59" GMT+8


def test_xtream_codec_location_report_2019() -> None:
    """xtream-codec's 2019 0x0200: alarm 111, status 22, latitude 31234567, longitude 121987654, altitude 123,
    speed 66, direction 3, time 250129223344, items {1: 12, 2: 100}. Status 22 has the south bit, so the
    latitude is south; the time is GMT+8 (their JSON writes the BCD digits with a Z).
    https://github.com/makeclan/xtream-codec/blob/main/debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/utils/codec-utils.ts
    """
    packet = one_packet(
        "7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b004200032501292233440202006401040000"
        "000c417e"
    )
    head = packet.header
    assert (head.version, head.protocol_version, head.phone, head.serial) == (Version.V2019, 1, "13912344329", 0)
    message = decode(head, packet.body)
    assert isinstance(message, LocationReport)
    fix = message.location
    assert fix.alarm == (
        Alarm.EMERGENCY
        | Alarm.OVERSPEED
        | Alarm.FATIGUE
        | Alarm.DANGER_WARNING
        | Alarm.GNSS_ANTENNA_CUT
        | Alarm.GNSS_ANTENNA_SHORT
    )  # 111 = 0b1101111
    assert fix.status == Status.POSITIONED | Status.SOUTH | Status.OUT_OF_SERVICE  # 22
    assert (fix.latitude, fix.longitude) == (-31.234567, 121.987654)
    assert (fix.altitude, fix.speed, fix.direction) == (123, 6.6, 3)
    assert fix.time == datetime(2025, 1, 29, 14, 33, 44, tzinfo=UTC)
    assert (fix.mileage, fix.fuel) == (1.2, 10.0)  # item 1: 12 tenths of km; item 2: 100 tenths of L


def test_xtream_codec_batch_2019() -> None:
    """xtream-codec's 2019 0x0704: count 2, type 0, items of 0x1c bytes, fields as their JSON gives them.
    https://github.com/makeclan/xtream-codec/blob/main/debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/utils/codec-utils.ts
    """
    packet = one_packet(
        "7e0704403f01000000000139123443290000000200001c000000010000000101d907f2073d336c029a00210059241029213903001c"
        "000000010000000101d907f3073d336d03090043005a241029213903f87e"
    )
    message = decode(packet.header, packet.body)
    assert isinstance(message, LocationBatch)
    assert not message.blind
    assert [(f.latitude, f.longitude, f.altitude, f.speed, f.direction) for f in message.locations] == [
        (31.000562, 121.451372, 666, 3.3, 89),
        (31.000563, 121.451373, 777, 6.7, 90),
    ]
    assert all(f.ignition and f.alarm == Alarm.EMERGENCY for f in message.locations)  # alarm 1, status 1
    assert {f.time for f in message.locations} == {datetime(2024, 10, 29, 13, 39, 3, tzinfo=UTC)}


def test_xtream_codec_heartbeat_2019() -> None:
    """xtream-codec's 2019 0x0002, an empty body:
    https://github.com/makeclan/xtream-codec/blob/main/debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/utils/codec-utils.ts
    """
    packet = one_packet("7e0002400001000000000139123443290000377e")
    assert decode(packet.header, packet.body) == Heartbeat()


def test_xtream_codec_responses_2019_are_built_byte_for_byte() -> None:
    """xtream-codec's 2019 0x8001 (reply serial 111, reply id 0x0200, result 0) and 0x8100 (reply serial 111,
    result 0, code "ok..ok..ok"), both with platform serial 0:
    https://github.com/makeclan/xtream-codec/blob/main/debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/utils/codec-utils.ts
    """
    to_report = header("00000000013912344329", 111, 0x0200, Version.V2019)
    assert general_response(to_report, serial=0, result=Result.SUCCESS) == wire(
        "7e8001400501000000000139123443290000006f020000dc7e"
    )
    to_registration = header("00000000013912344329", 111, 0x0100, Version.V2019)
    assert registration_response(
        to_registration, serial=0, result=RegistrationResult.SUCCESS, code=b"ok..ok..ok"
    ) == wire("7e8100400d01000000000139123443290000006f006f6b2e2e6f6b2e2e6f6bd27e")


# The platform's answers as a terminal reads them (the terminal simulator does): the same published frames.


def test_huabao_general_response_is_read_field_by_field() -> None:
    """Huabao's 0x8001: platform serial 0x0009 to terminal 002002604323, answering its 0x0200 of serial 0x00EE with
    success. https://huabaotelematics.com/blog/jt808-common-message-parsing-of-gps-electronic-lock-huabaotelematics-com_b9
    """
    packet = one_packet("7E 80 01 00 05 00 20 02 60 43 23 00 09 00 EE 02 00 00 43 7E")
    assert (packet.header.message_id, packet.header.phone, packet.header.serial) == (0x8001, "2002604323", 9)
    response = read_response(packet.header, packet.body)
    assert response == GeneralResponse(reply_serial=0x00EE, reply_id=0x0200, result=Result.SUCCESS)
    assert isinstance(response, GeneralResponse)
    assert response.accepted


def test_go_jt808_failed_authentication_is_read_as_not_accepted() -> None:
    """go-jt808's 2013 0x8001 answering a 0x0102 of serial 0 with failure (result 1):
    https://github.com/cuteLittleDevil/go-jt808/blob/main/protocol/model/reply_test.go
    """
    packet = one_packet("7e80010005012345678901000000000102010e7e")
    response = read_response(packet.header, packet.body)
    assert response == GeneralResponse(reply_serial=0, reply_id=0x0102, result=Result.FAILURE)
    assert isinstance(response, GeneralResponse)
    assert not response.accepted


def test_sheet_registration_response_is_read_field_by_field() -> None:
    """The sheet's 0x8100: platform serial 00 01, answering serial 00 0A with success and the code 01 91 72 78 56 20.
    https://docs.google.com/spreadsheets/d/1PySxMVfd5K1KfPZohZXD87q0l_3EPONb/edit
    """
    packet = one_packet("7E 81 00 00 09 01 91 72 78 56 20 00 01 00 0A 00 01 91 72 78 56 20 83 7E")
    assert (packet.header.message_id, packet.header.serial) == (0x8100, 1)
    assert read_response(packet.header, packet.body) == RegistrationResponse(
        reply_serial=0x000A, result=RegistrationResult.SUCCESS, code=wire("019172785620")
    )


def test_e_com_net_registration_response_is_read_field_by_field() -> None:
    """The published 0x8100 with the code "shuangwei" (reply serial 0x0030, result 0):
    https://e-com-net.com/article/1727706242857644032.htm
    """
    packet = one_packet("7E 81 00 00 0C 04 04 57 10 31 66 00 30 00 30 00 73 68 75 61 6E 67 77 65 69 E0 7E")
    assert read_response(packet.header, packet.body) == RegistrationResponse(
        reply_serial=0x0030, result=RegistrationResult.SUCCESS, code=b"shuangwei"
    )


def test_xtream_codec_responses_2019_are_read_field_by_field() -> None:
    """xtream-codec's 2019 0x8001 (reply serial 111, reply id 0x0200, result 0) and 0x8100 (reply serial 111,
    result 0, code "ok..ok..ok"):
    https://github.com/makeclan/xtream-codec/blob/main/debug/jt/jt-808-server-spring-boot-starter-debug-ui/src/utils/codec-utils.ts
    """
    general = one_packet("7e8001400501000000000139123443290000006f020000dc7e")
    assert (general.header.version, general.header.phone) == (Version.V2019, "13912344329")
    assert read_response(general.header, general.body) == GeneralResponse(111, 0x0200, Result.SUCCESS)
    registration = one_packet("7e8100400d01000000000139123443290000006f006f6b2e2e6f6b2e2e6f6bd27e")
    assert read_response(registration.header, registration.body) == RegistrationResponse(
        111, RegistrationResult.SUCCESS, b"ok..ok..ok"
    )


def test_a_terminal_message_is_no_answer() -> None:
    """Huabao's 0x0102 handed to the terminal's reader: refused, not misread as an answer."""
    packet = one_packet("7E 01 02 00 0D 00 20 02 60 43 25 00 01 38 33 30 30 32 30 30 32 36 30 34 33 32 13 7E")
    with pytest.raises(InvalidFrame) as refused:
        read_response(packet.header, packet.body)
    assert refused.value.reason is Reason.UNSUPPORTED_MESSAGE


def test_a_general_response_cut_short_is_truncated() -> None:
    """Huabao's 0x8001 without its result byte (length 4, check code recomputed): `truncated`, not a success."""
    packet = one_packet("7E 80 01 00 04 00 20 02 60 43 23 00 09 00 EE 02 00 42 7E")
    with pytest.raises(InvalidFrame) as refused:
        read_response(packet.header, packet.body)
    assert refused.value.reason is Reason.TRUNCATED
