"""The Chinese words staff read for the product's codes (类别 学校 for `school`); the codes themselves are what
the API, CSV for systems and English files use. One table per code list, so that a file, a sheet and a page name
each code alike (the web pages' own table, api/pages/static/js/texts.js, follows these). Each table is keyed by
the codes of its list in domain/energy.py, domain/vehicles.py, domain/registry.py or domain/supervision.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

Language = Literal["zh", "en"]

CATEGORY: Final[Mapping[str, str]] = {
    "agency": "党政机关",
    "public_institution": "事业单位",
    "school": "学校",
    "hospital": "医院",
    "community": "社区",
    "venue": "场馆",
}
# The statistics survey's categories (domain/registry.py's SurveyCategory), as its summary columns name them.
SURVEY_CATEGORY: Final[Mapping[str, str]] = {
    "state_organ": "国家机关",
    "education": "教育",
    "science": "科技",
    "culture": "文化",
    "health": "卫生",
    "sports": "体育",
    "other_institution": "其他事业单位",
    "association": "团体组织",
}
ENERGY_TYPE: Final[Mapping[str, str]] = {
    "electricity": "电力",
    "water": "水",
    "natural_gas": "天然气",
    "heat": "热力",
    "raw_coal": "原煤",
    "gasoline": "汽油",
    "diesel": "柴油",
    "lpg": "液化石油气",
    "other": "其他能源",  # entered only (bills, in kgce): no meter counts it
}
ENTRY_SOURCE: Final[Mapping[str, str]] = {"bill": "账单", "delivery_note": "送货单", "manual": "手工录入"}
ENTRY_PURPOSE: Final[Mapping[str, str]] = {"general": "一般", "heating": "采暖"}
SUB_ITEM: Final[Mapping[str, str]] = {
    "lighting_socket": "照明插座",
    "air_conditioning": "空调",
    "power": "动力",
    "special": "特殊用电",
}
QUOTA_STATUS: Final[Mapping[str, str]] = {"over": "超定额", "near": "接近定额", "ok": "未超定额"}
NO_FIGURE: Final[Mapping[str, str]] = {
    "no_readings": "无读数",
    "no_floor_area": "无建筑面积",
    "no_headcount": "无用能人数",
    "incomplete_period": "统计期数据不完整",
}
ORGANISATION_KIND: Final[Mapping[str, str]] = {
    "unit": "单位",
    "service_company": "服务企业",
    "rental_company": "租赁企业",
}
VEHICLE_ENERGY: Final[Mapping[str, str]] = {
    "gasoline": "汽油",
    "diesel": "柴油",
    "battery_electric": "纯电动",
    "plug_in_hybrid": "插电式混合动力",
}
LIFECYCLE: Final[Mapping[str, str]] = {"active": "在用", "maintenance": "维修", "retired": "已处置"}
RETIRED_HOW: Final[Mapping[str, str]] = {"auctioned": "拍卖", "scrapped": "报废"}
ALERT_KIND: Final[Mapping[str, str]] = {
    "speeding": "超速",
    "off_hours": "非工作时间用车",
    "no_dispatch": "无派车单行驶",
    "area_exit": "驶出允许区域",
    "parking": "未按规定停放",
    "silent": "终端失联",
    "emergency": "紧急报警",
    "gnss_antenna": "GNSS天线断开/短路",
    "power_cut": "主电源断电（终端可能被拆除）",
    "terminal_overspeed": "终端超速报警",
    "fatigue": "疲劳驾驶报警",
    "area_entry": "驶入禁入区域",
    # Energy events (domain/energy_events.py): the same alerts, about an institution or its meter.
    "quota_near": "即将超出能耗定额",
    "night_base_load": "夜间基础负荷偏高",
    "night_water_flow": "夜间持续用水（疑似漏水）",
    "meter_silent": "计量表失联",
}
AREA_KIND: Final[Mapping[str, str]] = {"permitted": "允许区域", "parking": "停车场", "forbidden": "禁入区域"}


# What of a trip was derived from motion rather than reported (domain/trips.py `Derived`).
DERIVED: Final[Mapping[str, str]] = {"speed": "车速", "ignition": "点火", "odometer": "里程表"}


def label(labels: Mapping[str, str], code: str, language: Language) -> str:
    """A code as a file in `language` shows it: its Chinese label (the code itself if it has none), or the code."""
    return labels.get(code, code) if language == "zh" else code
