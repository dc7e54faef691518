"""Energy events through the notification rules (docs/notifications.md "Energy events"): the notifier's energy
watch raises a silent meter's, a leak's and a night base load's alert once, the rules deliver them like vehicles'
alerts (e-mail, 企业微信, a digest), and they clear when their cause ends."""

from __future__ import annotations

import asyncio
import time as clock
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.header import decode_header, make_header
from typing import Any

import psycopg

from tests.support.energy_events import alerts_of, hourly, institution, judge, local_midnight, read
from tests.support.notifier import add_rule, deliveries, notifying, raise_alert, remove_rules
from tests.support.receivers import Receiver
from tests.support.registry import register_devices
from tests.support.rollups import ZONE
from tests.support.waiting import eventually
from yiwang.settings import Settings


def subject_of(mail: dict[str, Any]) -> str:
    return str(make_header(decode_header(message_from_string(mail["data"])["Subject"])))


def body_of(mail: dict[str, Any]) -> str:
    return str(message_from_string(mail["data"]).get_payload(decode=True).decode())  # type: ignore[union-attr]


async def wait_sent(url: str, rule: int, count: int = 1, seconds: float = 20) -> list[dict[str, Any]]:
    """Poll until the rule has `count` deliveries, all sent; them. AssertionError saying what they are if not."""
    deadline = clock.monotonic() + seconds
    while True:
        found = await deliveries(url, rule)
        if [d["status"] for d in found] == ["sent"] * count:
            return found
        if clock.monotonic() > deadline:
            raise AssertionError(f"rule {rule}'s deliveries are {[(d['status'], d['last_error']) for d in found]}")
        await asyncio.sleep(0.1)  # between polls of the database, not in place of a condition


async def test_a_silent_meter_raises_one_alert_delivered_by_its_kinds_rules_and_clears_when_it_reports(
    notifier_settings: Settings, tag: str, smtp: Receiver, webhook: Receiver
) -> None:
    url = notifier_settings.database_url
    quiet, never = f"m-{tag}-quiet", f"m-{tag}-never"
    org, inst = await institution(url, tag, {quiet: "electricity", never: "electricity"})
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    await read(url, quiet, [(last - timedelta(minutes=15), 10.0), (last, 11.0)])  # `never` never reports
    settings = notifier_settings.model_copy(update={"energy_silent_seconds": 3600.0, "energy_watch_seconds": 0.2})
    mail = await add_rule(url, name="能耗值班", organisation_id=org, channel="email", kinds=["meter_silent"],
                          target="energy@example.org")  # fmt: skip
    wecom = await add_rule(url, name="能耗群", organisation_id=org, channel="wecom", kinds=["meter_silent"],
                           target=f"http://127.0.0.1:{webhook.port}/cgi-bin/webhook/send?key=energy")  # fmt: skip
    other = await add_rule(url, name="漏水", organisation_id=org, channel="email", kinds=["night_water_flow"],
                           target="water@example.org")  # fmt: skip
    try:
        async with notifying(settings) as metrics:
            await wait_sent(url, mail)
            await wait_sent(url, wecom)
            # Judged again and again: still the one alert, the one delivery each.
            swept = metrics.sweeps
            await eventually(lambda: metrics.sweeps >= swept + 5, 20)
            [alert] = await alerts_of(url, inst)
            assert (alert["kind"], alert["meter_id"], alert["vehicle_id"], alert["organisation_id"]) == (
                "meter_silent", quiet, None, org,
            )  # fmt: skip
            assert alert["time"] == last
            assert len(await deliveries(url, mail)) == len(await deliveries(url, wecom)) == 1
            assert await deliveries(url, other) == []

            # It reports again: cleared at the next judgement, and not raised again.
            await read(url, quiet, [(datetime.now(UTC).replace(microsecond=0), 12.0)])

            async def cleared() -> bool:
                return (await alerts_of(url, inst))[0]["cleared_at"] is not None

            deadline = clock.monotonic() + 20
            while not await cleared():
                assert clock.monotonic() < deadline, "the silent meter's alert was not cleared"
                await asyncio.sleep(0.1)  # between polls of the database
            [alert] = await alerts_of(url, inst)
            assert alert["cleared_reason"].startswith("reported again at ")
    finally:
        await remove_rules(url, org)

    # What this test's rule sent (a rule another test left for every unit may send through the same server).
    [email] = [e for e in smtp.received() if e["to"] == ["energy@example.org"]]
    assert subject_of(email) == f"黄色提醒: 计量表失联 测试机关 {tag} {quiet}"
    body = body_of(email)
    assert f"institution 测试机关 {tag} ({inst}) 电力 meter {quiet} unit " in body
    assert f"({org}) at " in body
    # The detail in the message's language (Chinese), from the alert's parameters.
    assert f"计量表 {quiet}：2.0 小时无读数" in body
    assert "超过允许的 1.0 小时" in body
    [robot] = webhook.received()
    assert robot["body"]["markdown"]["content"].startswith(f"**黄色提醒: 计量表失联 测试机关 {tag} {quiet}**")


def leak(first_dry: datetime | None) -> Any:
    """A water meter's flow: 1.5 m³/h by day, 0.2 at night (a leak), nothing at night from `first_dry` on."""

    def rate(moment: datetime) -> float:
        if moment.hour >= 6:
            return 1.5
        return 0.0 if first_dry is not None and moment >= first_dry else 0.2

    return rate


async def test_a_night_water_flow_over_the_nights_a_leak_needs_is_raised_and_delivered(
    notifier_settings: Settings, tag: str, smtp: Receiver
) -> None:
    url = notifier_settings.database_url
    meter = f"m-{tag}-w"
    org, inst = await institution(url, tag, {meter: "water"})
    first = local_midnight(4)  # four whole nights up to last night's, then today so far
    await read(url, meter, hourly(leak(None), first, int((datetime.now(UTC) - first) / timedelta(hours=1))))
    mail = await add_rule(url, name="漏水", organisation_id=org, channel="email", kinds=["night_water_flow"],
                          target="water@example.org")  # fmt: skip
    try:
        async with notifying(notifier_settings):
            await wait_sent(url, mail)
    finally:
        await remove_rules(url, org)
    [alert] = [a for a in await alerts_of(url, inst) if a["kind"] == "night_water_flow"]
    assert (alert["meter_id"], alert["level"], alert["time"]) == (meter, "yellow", first)
    assert "stayed above zero for 4 nights in a row" in alert["detail"]
    assert "0.200 m³/h on average" in alert["detail"]
    [email] = [e for e in smtp.received() if e["to"] == ["water@example.org"]]
    assert subject_of(email) == f"黄色提醒: 夜间持续用水（疑似漏水） 测试机关 {tag} {meter}"
    assert f"水 meter {meter}" in body_of(email)


async def test_a_leak_clears_after_a_dry_night_and_a_short_run_raises_nothing(
    notifier_settings: Settings, tag: str
) -> None:
    url = notifier_settings.database_url
    meter = f"m-{tag}-w"
    _, inst = await institution(url, tag, {meter: "water"})
    first, dry = local_midnight(5), local_midnight(1)  # nights with flow from 5 days ago; last night dry
    now = datetime.now(UTC)
    await read(url, meter, hourly(leak(dry), first, int((now - first) / timedelta(hours=1))))
    # Judged two days ago, the run had two nights: fewer than the three a leak needs.
    await judge(notifier_settings, now - timedelta(days=3))
    assert await alerts_of(url, inst) == []
    # Judged yesterday: four nights in a row up to the night before: raised, once however often it is judged.
    await judge(notifier_settings, now - timedelta(days=1))
    await judge(notifier_settings, now - timedelta(days=1))
    [alert] = await alerts_of(url, inst)
    assert (alert["kind"], alert["time"], alert["cleared_at"]) == ("night_water_flow", first, None)
    # Judged today: last night was dry. The cause ended; nothing new is raised.
    await judge(notifier_settings, now)
    [alert] = await alerts_of(url, inst)
    assert alert["cleared_reason"] == f"the night of {dry.date()} had no flow (01-05 h)"


def office(night: float) -> Any:
    """100 kWh an hour from 9 to 17 on weekdays, `night` kWh from midnight to 6, 20 otherwise."""

    def rate(moment: datetime) -> float:
        if moment.hour < 6:
            return night
        return 100.0 if 9 <= moment.hour < 17 and moment.weekday() < 5 else 20.0

    return rate


async def test_a_night_base_load_is_raised_once_for_its_days(notifier_settings: Settings, tag: str) -> None:
    url = notifier_settings.database_url
    lit, dark = f"m-{tag}-lit", f"m-{tag}-dark"
    _, inst = await institution(url, tag, {lit: "electricity"})
    _, tidy = await institution(url, f"{tag}t", {dark: "electricity"})
    # An ordinary week (no holiday, no make-up workday): office() says Monday to Friday are the working days, which
    # the rule takes from the working calendar.
    now = datetime(2026, 3, 20, 12, 0, tzinfo=ZONE)
    first = local_midnight(7, now)
    hours = int((now - first) / timedelta(hours=1))
    await read(url, lit, hourly(office(60.0), first, hours))
    await read(url, dark, hourly(office(10.0), first, hours))
    await judge(notifier_settings, now)
    await judge(notifier_settings, now)
    [alert] = await alerts_of(url, inst)
    assert (alert["kind"], alert["meter_id"], alert["time"]) == ("night_base_load", None, first)
    assert alert["detail"].startswith("night load (00-06 h) 60% of the working-hours load over 7 days")
    assert await alerts_of(url, tidy) == []


async def test_a_digest_gathers_energy_events_with_vehicles_alerts(
    notifier_settings: Settings, tag: str, webhook: Receiver
) -> None:
    url = notifier_settings.database_url
    unit = await register_devices(url, f"d{tag}", meters=1, vehicles=1)
    [meter] = unit.meters
    await read(url, meter, [(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3), 5.0)])
    settings = notifier_settings.model_copy(update={"energy_silent_seconds": 3600.0})
    digest = await add_rule(url, name="每日汇总", organisation_id=unit.organisation, channel="wecom",
                            digest_minutes=1440, target=f"http://127.0.0.1:{webhook.port}/digest?key=k")  # fmt: skip
    try:
        async with notifying(settings):
            vehicle = await raise_alert(
                url, unit.vehicles[0], unit.organisation, "parking", "yellow", datetime.now(UTC)
            )

            async def gathered() -> list[int]:
                found = await deliveries(url, digest)
                return sorted(found[0]["alert_ids"]) if found else []

            deadline = clock.monotonic() + 20
            while len(await gathered()) < 2:
                assert clock.monotonic() < deadline, f"the digest holds {await gathered()}"
                await asyncio.sleep(0.1)  # between polls of the database
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                cur = await conn.execute("SELECT id FROM alert WHERE meter_id = %s AND kind = 'meter_silent'", (meter,))
                [(silent,)] = await cur.fetchall()
                assert await gathered() == sorted([vehicle, silent])
                # The day ends.
                await conn.execute("UPDATE notification_delivery SET due_at = now() WHERE rule_id = %s", (digest,))
            await wait_sent(url, digest)
    finally:
        await remove_rules(url, unit.organisation)
    summary = webhook.received()[-1]["body"]["markdown"]["content"]
    assert summary.startswith("**督车与能耗汇总: 2 条告警**")
    assert f"(alert {vehicle})" in summary
    assert f"(alert {silent})" in summary


async def test_a_meters_last_reading_is_looked_for_within_the_lookback_only(
    notifier_settings: Settings, tag: str
) -> None:
    """The watch looks for last readings energy_silent_lookback_days beyond the silence threshold (each day more is
    one more chunk probed per meter, every judgement): a meter silent since before that raises nothing, like one never
    read; one silent within it is alerted."""
    url = notifier_settings.database_url
    recent, ancient = f"m-{tag}-recent", f"m-{tag}-ancient"
    _, inst = await institution(url, tag, {recent: "electricity", ancient: "electricity"})
    now = datetime.now(UTC).replace(microsecond=0)
    await read(url, recent, [(now - timedelta(days=3), 10.0)])
    await read(url, ancient, [(now - timedelta(days=40), 10.0)])
    settings = notifier_settings.model_copy(
        update={"energy_silent_seconds": 86_400.0, "energy_silent_lookback_days": 31}
    )
    await judge(settings, now)
    [alert] = await alerts_of(url, inst)
    assert (alert["kind"], alert["meter_id"], alert["time"]) == ("meter_silent", recent, now - timedelta(days=3))
