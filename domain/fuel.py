"""Vehicle fuel and charging: the statements offices receive (fuel cards' 消费明细, charging platforms' bills) read
row by row, and the rules that judge what a vehicle bought against what its track drove.

Pure: the import (api/fleet/fuel.py) resolves plates and stores; the report reads kilometres from the mileage
roll-up and hands both to `judge`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final, Literal
from zoneinfo import ZoneInfo

Fuel = Literal["gasoline", "diesel", "electricity"]
FUELS: Final[tuple[Fuel, ...]] = ("gasoline", "diesel", "electricity")
LIQUID: Final[frozenset[Fuel]] = frozenset({"gasoline", "diesel"})

# What a statement's column means -> the headers it goes by: fuel-card statements of 中国石化 and 中国石油, charging
# platforms' bills, and this product's own English. Matched after `_header_key` (case, spaces, full-width brackets,
# 升/L and 元 in brackets ignored), so 数量（升）, 数量(L) and 数量 are one header.
Field = Literal["card", "plate", "time", "end_time", "station", "fuel", "litres", "kwh", "amount"]
HEADERS: Final[dict[Field, tuple[str, ...]]] = {
    "card": ("卡号", "加油卡号", "油卡卡号", "副卡卡号", "账号", "card", "card number", "card_number", "card no"),
    "plate": ("车牌号", "车牌号码", "车牌", "号牌", "plate", "plate number", "licence plate", "license plate"),
    "time": (
        "交易时间", "加油时间", "消费时间", "交易日期", "充电开始时间", "开始时间", "time", "transaction time",
        "start time", "start",
    ),
    "end_time": ("充电结束时间", "结束时间", "end time", "end", "end_time"),
    "station": (
        "油站", "油站名称", "加油站", "加油站名称", "网点名称", "交易网点", "充电站", "充电站名称", "电站名称",
        "站点名称", "station", "station name",
    ),
    "fuel": ("油品", "油品名称", "商品名称", "商品", "fuel", "product", "grade"),
    "litres": ("数量", "加油量", "升数", "油量", "litres", "liters", "quantity", "volume"),
    "kwh": ("充电量", "充电电量", "电量", "kwh", "energy", "charged"),
    "amount": (
        "金额", "交易金额", "消费金额", "实付金额", "应付金额", "订单金额", "充电费用", "总金额", "amount",
        "amount yuan", "total",
    ),
}  # fmt: skip
REQUIRED: Final[tuple[Field, ...]] = ("plate", "time")

_UNIT_IN_BRACKETS = re.compile(r"\((升|l|元|kwh|度|千瓦时|rmb|yuan|cny)\)")


def _header_key(text: str) -> str:
    key = text.strip().lower().replace("（", "(").replace("）", ")").replace(" ", "").replace("_", "")
    return _UNIT_IN_BRACKETS.sub("", key)


_BY_KEY: Final[dict[str, Field]] = {
    _header_key(header): field for field, headers in HEADERS.items() for header in headers
}
# A header naming kWh in brackets is a charge's quantity whatever its word (数量(kWh)).
_KWH_IN_BRACKETS = re.compile(r"\((kwh|度|千瓦时)\)")


def field_of(header: object) -> Field | None:
    """What a statement's column holds, by its header; None: a column this import does not read."""
    if not isinstance(header, str) or not header.strip():
        return None
    text = header.strip().lower().replace("（", "(").replace("）", ")").replace(" ", "")
    if _KWH_IN_BRACKETS.search(text):
        return "kwh"
    return _BY_KEY.get(_header_key(header))


def plate_key(plate: str) -> str:
    """A plate as compared: statements write 赣H12345, 赣H·12345 and 赣h 12345 for one plate."""
    return re.sub(r"[\s·.\-•・]", "", plate).upper()


# 油品 as statements write it: 92#汽油, 95号车用汽油, 0#车用柴油(VI), -10#柴油, 汽油, diesel.
_GASOLINE = ("汽油", "gasoline", "petrol", "92#", "95#", "98#", "92号", "95号", "98号")
_DIESEL = ("柴油", "diesel", "0#", "-10#", "-20#", "-35#", "0号", "-10号")
_ELECTRICITY = ("电", "充电", "electricity", "electric", "kwh")


def fuel_of(text: str) -> Fuel | None:
    """The fuel a statement's 油品 names, or None when it names none of gasoline, diesel or electricity."""
    t = text.strip().lower()
    if any(word in t for word in _DIESEL):
        return "diesel"
    if any(word in t for word in _GASOLINE):
        return "gasoline"
    if any(word in t for word in _ELECTRICITY):
        return "electricity"
    return None


def number_of(value: object) -> Decimal:
    """A quantity or amount as a statement writes it: 45.20, "1,234.50", "¥56.00", "30.5 升".

    Raises:
        ValueError: not a finite number.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        text = re.sub(r"[,，\s¥￥元升lL]|kwh|kWh|KWH|度", "", str(value))
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


_TIME_FORMATS: Final = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y%m%d%H%M%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y.%m.%d %H:%M:%S",
)


def time_of(value: object, zone: ZoneInfo) -> datetime:
    """A statement's time: an Excel date-time cell or text, local time of `zone` unless it carries an offset.

    Raises:
        ValueError: not a date and time.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        raise ValueError(f"{value.isoformat()} is a day without a time: the statement's time of the purchase")
    else:
        text = str(value).strip()
        moment = _parse(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _parse(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    for form in _TIME_FORMATS:
        try:
            return datetime.strptime(text, form)  # local time: the caller gives its zone
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date and time (2025-06-03 10:15:00)")


# ---------------------------------------------------------------------------------------------------------------
# Judging a vehicle's purchases against its track


@dataclass(frozen=True, slots=True)
class Purchase:
    """A stored purchase as the rules see it."""

    time: datetime
    day: date
    fuel: Fuel
    quantity: Decimal  # litres, or kWh
    station: str | None


@dataclass(frozen=True, slots=True)
class Band:
    """Plausible consumption per 100 km: outside it, a figure is flagged."""

    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Rules:
    """The plausibility rules (YIWANG_FUEL_* settings)."""

    idle_days: int  # a purchase with no kilometres within this many local days on either side is flagged
    litres: Band
    kwh: Band


FlagKind = Literal["no_driving", "over_tank", "over_battery", "consumption_out_of_band"]
FLAG_KINDS: Final[tuple[FlagKind, ...]] = ("no_driving", "over_tank", "over_battery", "consumption_out_of_band")


@dataclass(frozen=True, slots=True)
class Flag:
    """Why a vehicle's fuel looks implausible, with the evidence (the purchase, the kilometres, the bound)."""

    kind: FlagKind
    evidence: str
    time: datetime | None = None  # the purchase's, for a flag of one purchase


@dataclass(frozen=True, slots=True)
class Verdict:
    litres: Decimal
    kwh: Decimal
    l_per_100km: Decimal | None
    kwh_per_100km: Decimal | None
    per_100km_reason: str | None  # why either is null
    flags: tuple[Flag, ...]


def per_100km(quantity: Decimal, km: Decimal) -> Decimal:
    return (quantity * 100 / km).quantize(Decimal("0.01"))


def judge(
    purchases: Sequence[Purchase],
    km: Decimal,
    km_by_day: Mapping[date, Decimal],
    *,
    energy: str,
    tank_litres: float | None,
    battery_kwh: float | None,
    rules: Rules,
) -> Verdict:
    """What a vehicle bought in a period against what its track drove.

    Args:
        purchases: its purchases of the period, in time order.
        km: its track's kilometres in the period (the mileage roll-up's trips).
        km_by_day: its kilometres per local day, over the period widened by `rules.idle_days` on each side.
        energy: the vehicle's (domain/vehicles.py): a plug-in hybrid's kilometres are shared by its two fuels, so no
            band is applied to it.
    """
    litres = sum((p.quantity for p in purchases if p.fuel in LIQUID), Decimal(0))
    kwh = sum((p.quantity for p in purchases if p.fuel == "electricity"), Decimal(0))
    flags: list[Flag] = []
    around = timedelta(days=rules.idle_days)
    for p in purchases:
        window = [p.day + timedelta(days=n) for n in range(-rules.idle_days, rules.idle_days + 1)]
        if not any(km_by_day.get(d, Decimal(0)) > 0 for d in window):
            flags.append(
                Flag(
                    "no_driving",
                    f"{p.quantity} {_unit(p.fuel)} on {p.time.isoformat()} at {p.station or 'an unnamed station'}: "
                    f"the track drove 0 km from {p.day - around} to {p.day + around}",
                    p.time,
                )
            )
        if p.fuel in LIQUID and tank_litres is not None and p.quantity > Decimal(str(tank_litres)):
            flags.append(
                Flag(
                    "over_tank",
                    f"{p.quantity} L on {p.time.isoformat()}, more than the tank's {tank_litres:g} L",
                    p.time,
                )
            )
        if p.fuel == "electricity" and battery_kwh is not None and p.quantity > Decimal(str(battery_kwh)):
            flags.append(
                Flag(
                    "over_battery",
                    f"{p.quantity} kWh on {p.time.isoformat()}, more than the battery's {battery_kwh:g} kWh",
                    p.time,
                )
            )
    if km <= 0:
        reason = "no kilometres: the track drove none in the period (no trips, or no positions)"
        return Verdict(litres, kwh, None, None, reason, tuple(flags))
    l100 = per_100km(litres, km) if litres else None
    k100 = per_100km(kwh, km) if kwh else None
    if energy != "plug_in_hybrid":
        for value, band, unit in ((l100, rules.litres, "L"), (k100, rules.kwh, "kWh")):
            if value is not None and not band.low <= value <= band.high:
                flags.append(
                    Flag(
                        "consumption_out_of_band",
                        f"{value} {unit}/100 km ({litres if unit == 'L' else kwh} {unit} over {km} km), outside "
                        f"{band.low:g}-{band.high:g} {unit}/100 km",
                    )
                )
    return Verdict(litres, kwh, l100, k100, None, tuple(flags))


def _unit(fuel: Fuel) -> str:
    return "kWh" if fuel == "electricity" else "L"
