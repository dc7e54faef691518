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
