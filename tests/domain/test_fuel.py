"""The pure rules of vehicle fuel: a statement's headers and values, and a vehicle's purchases judged against its
track's kilometres."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.fuel import Band, Purchase, Rules, field_of, fuel_of, judge, number_of, plate_key, time_of

ZONE = ZoneInfo("Asia/Shanghai")
RULES = Rules(idle_days=3, litres=Band(3, 40), kwh=Band(8, 120))


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("卡号", "card"), ("车牌号", "plate"), ("交易时间", "time"), ("加油站名称", "station"), ("油品", "fuel"),
        ("数量(升)", "litres"), ("数量（升）", "litres"), ("加油量", "litres"), ("金额(元)", "amount"),
        ("充电量(kWh)", "kwh"), ("充电开始时间", "time"), ("充电结束时间", "end_time"), ("数量(kWh)", "kwh"),
        ("Charged (kWh)", "kwh"), ("Licence plate", "plate"), ("备注", None), (None, None),
    ],
)  # fmt: skip
def test_a_statements_headers_in_chinese_and_english(header: object, field: str | None) -> None:
    assert field_of(header) == field


def test_plates_fuels_numbers_and_times_as_statements_write_them() -> None:
    assert plate_key("赣H·D1234 ") == plate_key("赣hd1234") == "赣HD1234"
    assert [fuel_of(t) for t in ("92#汽油", "95号车用汽油", "0#车用柴油(VI)", "-10#柴油", "充电", "润滑油")] == [
        "gasoline", "gasoline", "diesel", "diesel", "electricity", None,
    ]  # fmt: skip
    assert number_of("1,234.50") == Decimal("1234.50")
    assert number_of("¥56.00") == Decimal("56.00")
    assert number_of(30) == Decimal(30)
    with pytest.raises(ValueError, match="not a number"):
        number_of("abc")
    assert time_of("2025/06/03 08:00", ZONE) == datetime(2025, 6, 3, 8, tzinfo=ZONE)
    assert time_of("2025-06-03T00:00:00+00:00", ZONE) == datetime(2025, 6, 3, 8, tzinfo=ZONE)
    assert time_of(datetime(2025, 6, 3, 8), ZONE) == datetime(2025, 6, 3, 8, tzinfo=ZONE)
    with pytest.raises(ValueError, match="without a time"):
        time_of(date(2025, 6, 3), ZONE)


def _bought(day: int, litres: str) -> Purchase:
    time = datetime(2025, 6, day, 8, tzinfo=ZONE)
    return Purchase(time, time.date(), "gasoline", Decimal(litres), "站")


def test_a_purchase_is_flagged_only_without_kilometres_within_the_days_around_it() -> None:
    driven = {date(2025, 6, 3): Decimal(50)}
    near, far = _bought(6, "10"), _bought(7, "10")  # three days after the drive; four
    verdict = judge(
        [near, far], Decimal(50), driven, energy="gasoline", tank_litres=None, battery_kwh=None, rules=RULES
    )
    assert [(f.kind, f.time) for f in verdict.flags] == [("no_driving", far.time)]
    assert verdict.l_per_100km == Decimal("40.00")  # 20 L over 50 km: on the band's edge, not outside it


def test_a_plug_in_hybrids_kilometres_are_shared_so_no_band_applies() -> None:
    time = datetime(2025, 6, 3, 8, tzinfo=ZONE)
    charge = Purchase(time + timedelta(hours=1), time.date(), "electricity", Decimal(10), None)
    verdict = judge(
        [_bought(3, "45"), charge], Decimal(100), {time.date(): Decimal(100)}, energy="plug_in_hybrid",
        tank_litres=None, battery_kwh=None, rules=RULES,
    )  # fmt: skip
    assert (verdict.l_per_100km, verdict.kwh_per_100km, verdict.flags) == (Decimal("45.00"), Decimal("10.00"), ())


def test_no_kilometres_gives_no_per_100km_and_says_why() -> None:
    verdict = judge(
        [_bought(3, "30")], Decimal(0), {}, energy="gasoline", tank_litres=60, battery_kwh=None, rules=RULES
    )
    assert (verdict.l_per_100km, verdict.kwh_per_100km) == (None, None)
    assert verdict.per_100km_reason is not None
    assert "no kilometres" in verdict.per_100km_reason
