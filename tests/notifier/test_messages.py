"""How a message names an energy event: its institution by name, its meter and energy, and a digest's title."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from notifier import messages

ZONE = ZoneInfo("Asia/Shanghai")


def test_a_message_names_the_institution_and_meter_of_an_energy_event() -> None:
    alert = {
        "id": 7, "vehicle_id": None, "institution_id": "inst-1", "institution_name": "市图书馆", "meter_id": "m-w",
        "energy_type": "water", "organisation_id": "org-1", "kind": "night_water_flow", "level": "yellow",
        "time": datetime(2026, 12, 2, tzinfo=ZONE), "detail": "water meter m-w: ...",
    }  # fmt: skip
    assert messages.subject([alert], escalation=False) == "黄色提醒: 夜间持续用水（疑似漏水） 市图书馆 m-w"
    [line] = messages.lines([alert], ZONE)
    assert "institution 市图书馆 (inst-1) 水 meter m-w unit org-1 at 2026-12-02 00:00:00" in line
    vehicle = {**alert, "id": 8, "vehicle_id": "v-1", "kind": "parking"}
    assert messages.subject([alert, vehicle], escalation=False) == "督车与能耗汇总: 2 条告警"
    assert messages.subject([alert, alert], escalation=False) == "能耗汇总: 2 条告警"


def test_a_message_tells_the_detail_in_chinese_and_the_unit_by_name() -> None:
    """Issue 20: messages said "moved over 50 m without a dispatched request" and "unit org-0031"."""
    alert = {
        "id": 9, "vehicle_id": "v-1", "institution_id": None, "institution_name": None, "meter_id": None,
        "energy_type": None, "organisation_id": "org-0031", "organisation_name": "市财政局", "kind": "no_dispatch",
        "level": "yellow", "time": datetime(2026, 12, 2, 9, tzinfo=ZONE),
        "detail": "moved over 50 m without a dispatched request", "params": {"moved_m": 50},
    }  # fmt: skip
    [line] = messages.lines([alert], ZONE)
    assert "vehicle v-1 unit 市财政局 (org-0031) at 2026-12-02 09:00:00: 无派车单行驶超过 50 米 (alert 9)" in line
    # An alert raised before parameters were kept: its English text, as stored.
    [old] = messages.lines([{**alert, "params": None}], ZONE)
    assert ": moved over 50 m without a dispatched request (alert 9)" in old
