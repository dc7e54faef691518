"""The notifier delivers alerts by rules to a real SMTP server and a real webhook receiver (processes of their own):
the messages' formats, retries after a 500, dead letters, a receiver that is down, quiet hours, digests and
escalation."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time as clock
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email import message_from_string
from email.header import decode_header, make_header
from typing import Any

import psycopg
import pytest

from api.access.users import create_user
from db.access import update_user
from db.alerts import store
from domain.supervision import Alert
from tests.support.api import PASSWORD
from tests.support.notifier import add_rule, deliveries, notifying, raise_alert
from tests.support.receivers import Receiver
from tests.support.registry import Devices, register_devices
from yiwang.settings import Settings
from yiwang.stack import free_port

SECRET = "SECtest-signing-secret"


def subject_of(mail: dict[str, Any]) -> str:
    return str(make_header(decode_header(message_from_string(mail["data"])["Subject"])))


async def statuses(url: str, rule: int) -> list[tuple[str, int]]:
    return [(d["status"], d["attempts"]) for d in await deliveries(url, rule)]


async def wait_statuses(url: str, rule: int, expected: list[tuple[str, int]], seconds: float = 20) -> None:
    """Poll until the rule's deliveries (in id order) are `expected`; AssertionError saying what they are if not."""
    deadline = clock.monotonic() + seconds
    while (found := await statuses(url, rule)) != expected:
        if clock.monotonic() > deadline:
            raise AssertionError(f"rule {rule}'s deliveries are {found}, not {expected}")
        await asyncio.sleep(0.1)  # between polls of the database, not in place of a condition


@dataclass
class Clock:
    """The notifier's time, set by the test: it stands still until the test moves it."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


async def test_an_alert_reaches_email_wecom_and_dingtalk_in_their_formats(
    notifier_settings: Settings, unit: Devices, smtp: Receiver, webhook: Receiver
) -> None:
    url, org, vehicle = notifier_settings.database_url, unit.organisation, unit.vehicles[0]
    hook = f"http://127.0.0.1:{webhook.port}"
    mail = await add_rule(url, name="值班", organisation_id=org, channel="email",
                          target="duty@example.org, chief@example.org")  # fmt: skip
    wecom = await add_rule(url, name="企业微信群", organisation_id=org, channel="wecom",
                           target=f"{hook}/cgi-bin/webhook/send?key=wecom-key")  # fmt: skip
    ding = await add_rule(url, name="钉钉群", organisation_id=org, channel="dingtalk", secret=SECRET,
                          target=f"{hook}/robot/send?access_token=ding-token")  # fmt: skip
    async with notifying(notifier_settings):
        alert = await raise_alert(url, vehicle, org, "area_exit", "red", datetime.now(UTC), detail="left the city")
        for rule in (mail, wecom, ding):
            await wait_statuses(url, rule, [("sent", 1)])

    [email] = smtp.received()
    assert email["from"] == "yiwang@example.org"
    assert sorted(email["to"]) == ["chief@example.org", "duty@example.org"]
    assert subject_of(email) == f"红色报警: 驶出允许区域 {vehicle}"
    assert f"alert {alert}" in message_from_string(email["data"]).get_payload(decode=True).decode()

    received = {r["path"]: r for r in webhook.received()}
    we = received["/cgi-bin/webhook/send"]
    assert we["query"] == {"key": "wecom-key"}
    assert list(we["body"]) == ["msgtype", "markdown"]
    assert we["body"]["msgtype"] == "markdown"
    content = we["body"]["markdown"]["content"]
    assert content.startswith(f"**红色报警: 驶出允许区域 {vehicle}**\n> ")
    assert re.search(rf"vehicle {vehicle} unit \S.* \({org}\) at ", content)  # the unit by its name
    assert "left the city" in content

    dd = received["/robot/send"]
    assert dd["body"]["msgtype"] == "markdown"
    assert dd["body"]["markdown"]["title"] == f"红色报警: 驶出允许区域 {vehicle}"
    assert dd["body"]["markdown"]["text"].startswith(f"### 红色报警: 驶出允许区域 {vehicle}\n- ")
    # 钉钉's 加签: sign = base64(HMAC-SHA256(secret, "<timestamp ms>\n<secret>")), the timestamp within the hour.
    timestamp = dd["query"]["timestamp"]
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest())
    assert dd["query"]["sign"] == expected.decode()
    assert dd["query"]["access_token"] == "ding-token"
    assert abs(int(timestamp) / 1000 - datetime.now(UTC).timestamp()) < 3600


async def test_failures_are_retried_then_dead_and_never_hold_up_other_deliveries(
    notifier_settings: Settings, unit: Devices, smtp: Receiver, webhook: Receiver
) -> None:
    url, org = notifier_settings.database_url, unit.organisation
    hook = f"http://127.0.0.1:{webhook.port}"
    once = await add_rule(url, name="fails once", organisation_id=org, channel="wecom", target=f"{hook}/fail-1/a?key=k")
    down = await add_rule(url, name="answers 500", organisation_id=org, channel="wecom", target=f"{hook}/down/b?key=k")
    gone = await add_rule(url, name="nobody listens", organisation_id=org, channel="dingtalk",
                          target=f"http://127.0.0.1:{free_port()}/robot/send?access_token=t")  # fmt: skip
    mail = await add_rule(url, name="mail", organisation_id=org, channel="email", target="duty@example.org")
    async with notifying(notifier_settings) as metrics:
        await raise_alert(url, unit.vehicles[0], org, "speeding", "yellow", datetime.now(UTC))
        await wait_statuses(url, mail, [("sent", 1)])
        await wait_statuses(url, once, [("sent", 2)])
        await wait_statuses(url, down, [("dead", 3)])
        await wait_statuses(url, gone, [("dead", 3)])
        # The notifier keeps sweeping: a new alert after the dead letters is delivered as ever.
        await raise_alert(url, unit.vehicles[1], org, "speeding", "yellow", datetime.now(UTC))
        await wait_statuses(url, mail, [("sent", 1), ("sent", 1)])
        await wait_statuses(url, down, [("dead", 3), ("dead", 3)])
        assert metrics.health()[0]

    dead_500 = (await deliveries(url, down))[0]
    assert "HTTP 500" in dead_500["last_error"]
    dead_refused = (await deliveries(url, gone))[0]
    assert "ConnectError" in dead_refused["last_error"]
    assert "access_token" not in dead_refused["last_error"]  # a robot's token is never recorded
    paths = [r["path"] for r in webhook.received()]
    assert paths.count("/fail-1/a") == 3  # the first alert's two tries, the second's one
    assert paths.count("/down/b") == 6
    assert len(smtp.received()) == 2


async def test_quiet_hours_hold_a_yellow_alert_and_let_a_red_one_through(
    notifier_settings: Settings, unit: Devices, webhook: Receiver
) -> None:
    url, org, zone = notifier_settings.database_url, unit.organisation, notifier_settings.zone
    local = datetime.now(zone)
    start, end = (local - timedelta(hours=1)).time(), (local + timedelta(hours=1)).time()
    quiet = await add_rule(
        url, name="夜间", organisation_id=org, channel="wecom", target=f"http://127.0.0.1:{webhook.port}/quiet?key=k",
        quiet_start=time(start.hour, start.minute), quiet_end=time(end.hour, end.minute),
    )  # fmt: skip
    async with notifying(notifier_settings):
        yellow = await raise_alert(url, unit.vehicles[0], org, "no_dispatch", "yellow", datetime.now(UTC))
        red = await raise_alert(url, unit.vehicles[1], org, "emergency", "red", datetime.now(UTC))
        await wait_statuses(url, quiet, [("pending", 0), ("sent", 1)])
    held, sent = await deliveries(url, quiet)
    assert (held["alert_ids"], sent["alert_ids"]) == ([yellow], [red])
    # Held until the quiet hours end (local time), to the minute.
    expected_end = (local + timedelta(hours=1)).replace(second=0, microsecond=0)
    assert held["due_at"] == expected_end
    assert [r["body"]["markdown"]["content"].split("\n")[0] for r in webhook.received()] == [
        f"**红色报警: 紧急报警 {unit.vehicles[1]}**"
    ]


async def test_a_digest_sends_the_yellow_alerts_of_its_period_in_one_message(
    notifier_settings: Settings, unit: Devices, webhook: Receiver
) -> None:
    # The period is the local hour the notifier plans the alerts in, by its clock: the test's, whatever the time of
    # day. It plans one alert in the first minute of yesterday's last hour and the others in its last second; the
    # digest is due at midnight by that clock, not by the wall's.
    url, org, zone = notifier_settings.database_url, unit.organisation, notifier_settings.zone
    hour = datetime.combine(datetime.now(zone).date() - timedelta(days=1), time(23), tzinfo=zone)
    now = Clock(hour + timedelta(minutes=1))
    digest = await add_rule(url, name="每小时汇总", organisation_id=org, channel="wecom", digest_minutes=60,
                            target=f"http://127.0.0.1:{webhook.port}/digest?key=k")  # fmt: skip
    async with notifying(notifier_settings, now):
        first = await raise_alert(url, unit.vehicles[0], org, "no_dispatch", "yellow", datetime.now(UTC))
        await wait_statuses(url, digest, [("pending", 0)])
        now.at = hour + timedelta(minutes=59, seconds=59)
        second = await raise_alert(url, unit.vehicles[1], org, "parking", "yellow", datetime.now(UTC))
        red = await raise_alert(url, unit.vehicles[2], org, "power_cut", "red", datetime.now(UTC))
        # A red alert is never held for a digest; the yellow ones wait for the hour's end, together.
        await wait_statuses(url, digest, [("pending", 0), ("sent", 1)])
        gathered, alone = await deliveries(url, digest)
        assert (sorted(gathered["alert_ids"]), alone["alert_ids"]) == ([first, second], [red])
        assert gathered["due_at"] == hour + timedelta(hours=1)
        # The hour ends.
        now.at = hour + timedelta(hours=1)
        await wait_statuses(url, digest, [("sent", 1), ("sent", 1)])
    summary = webhook.received()[-1]["body"]["markdown"]["content"]
    assert summary.startswith("**督车汇总: 2 条告警**")
    assert f"(alert {first})" in summary
    assert f"(alert {second})" in summary


async def test_a_failed_delivery_is_due_again_by_the_notifiers_clock_not_the_databases(
    notifier_settings: Settings, unit: Devices, webhook: Receiver
) -> None:
    # The notifier's clock a day behind the database's: the retry of a failed delivery is due by that clock (its
    # backoff after the attempt), so that it is tried once the clock passes the backoff, not a day later.
    url, org = notifier_settings.database_url, unit.organisation
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    now = Clock(start)
    once = await add_rule(url, name="fails once", organisation_id=org, channel="wecom",
                          target=f"http://127.0.0.1:{webhook.port}/fail-1/clock?key=k")  # fmt: skip
    async with notifying(notifier_settings, now):
        await raise_alert(url, unit.vehicles[0], org, "speeding", "yellow", datetime.now(UTC))
        await wait_statuses(url, once, [("pending", 1)])
        [failed] = await deliveries(url, once)
        # The first backoff (notify_retry_seconds) counted from the notifier's time of the attempt.
        assert failed["due_at"] == start + timedelta(seconds=notifier_settings.notify_retry_seconds)
        assert "HTTP 500" in failed["last_error"]
        now.at = start + timedelta(seconds=1)
        await wait_statuses(url, once, [("sent", 2)])
    [sent] = await deliveries(url, once)
    assert sent["sent_at"] == start + timedelta(seconds=1)
    assert [r["path"] for r in webhook.received()] == ["/fail-1/clock", "/fail-1/clock"]


@pytest.fixture
def escalating(notifier_settings: Settings) -> Settings:
    return notifier_settings.model_copy(update={"alert_escalate_seconds": 1.0})


async def test_an_alert_left_unacknowledged_is_escalated_to_the_next_level(
    escalating: Settings, unit: Devices, smtp: Receiver
) -> None:
    url, org = escalating.database_url, unit.organisation
    chief = await add_rule(url, name="上一级", organisation_id=org, channel="email", event="escalation",
                           target="chief@example.org")  # fmt: skip
    async with notifying(escalating) as metrics:
        ignored = await raise_alert(url, unit.vehicles[0], org, "off_hours", "red", datetime.now(UTC))
        # Acknowledged in the transaction that raises it: however slow the machine, no sweep sees it unacknowledged
        # for the second that escalates.
        now, vehicle = datetime.now(UTC), unit.vehicles[1]
        async with await psycopg.AsyncConnection.connect(url) as conn:
            [seen] = await store(conn, [Alert(vehicle, "off_hours", "red", now, now, 29.3, 117.2, 40.0, "seen")],
                                 {vehicle: org})  # fmt: skip
            await conn.execute("UPDATE alert SET acknowledged_at = now() WHERE id = %s", (seen,))
            await conn.commit()
        await wait_statuses(url, chief, [("sent", 1)])
        assert metrics.escalated._value.get() >= 1
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT id, escalated_at IS NOT NULL FROM alert WHERE id IN (%s, %s)", (ignored, seen))
        assert dict(await cur.fetchall()) == {ignored: True, seen: False}
    [email] = smtp.received()
    assert email["to"] == ["chief@example.org"]
    assert subject_of(email) == f"【升级】红色报警: 非工作时间用车 {unit.vehicles[0]}"
    [delivery] = await deliveries(url, chief)
    assert delivery["key"] == f"escalation:{ignored}"


async def test_an_email_rule_by_role_reaches_the_users_of_that_role_who_see_the_unit(
    notifier_settings: Settings, unit: Devices, smtp: Receiver, tag: str
) -> None:
    url, org = notifier_settings.database_url, unit.organisation
    other = await register_devices(url, f"o{tag}", meters=0, vehicles=0)
    people = {
        "own": ("unit_user", [org], f"own-{tag}@example.org", False),
        "other": ("unit_user", [other.organisation], f"other-{tag}@example.org", False),
        "gone": ("unit_user", [org], f"gone-{tag}@example.org", True),
        "silent": ("unit_user", [org], None, False),
        "staff": ("dispatcher", [], f"staff-{tag}@example.org", False),
    }
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for name, (role, organisations, email, disabled) in people.items():
            user = await create_user(conn, f"{name}-{tag}", PASSWORD, role, organisations)
            await update_user(conn, user, email=email, disabled=disabled)
        await conn.commit()
    units = await add_rule(url, name="本单位", organisation_id=org, channel="email", role="unit_user")
    staff = await add_rule(url, name="调度", organisation_id=org, channel="email", role="dispatcher",
                           target="duty@example.org")  # fmt: skip
    async with notifying(notifier_settings):
        await raise_alert(url, unit.vehicles[0], org, "power_cut", "red", datetime.now(UTC))
        await wait_statuses(url, units, [("sent", 1)])
        await wait_statuses(url, staff, [("sent", 1)])
    by_rule = {(await deliveries(url, rule))[0]["target"]: rule for rule in (units, staff)}
    assert by_rule[f"own-{tag}@example.org"] == units  # the disabled, the address-less and another unit's: not told
    staff_target = next(t for t, rule in by_rule.items() if rule == staff)
    assert staff_target.startswith("duty@example.org, ")
    assert f"staff-{tag}@example.org" in staff_target.split(", ")
    received = sorted(sorted(m["to"]) for m in smtp.received())
    assert [f"own-{tag}@example.org"] in received
    assert all(f"other-{tag}@example.org" not in to and f"gone-{tag}@example.org" not in to for to in received)
