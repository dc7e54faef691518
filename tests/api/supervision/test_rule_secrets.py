"""Robots' keys kept secret: a 企业微信 webhook URL's key and a 钉钉 signing secret are stored encrypted
(YIWANG_SECRET_KEY), never shown whole by the API, and rules stored in plain text before are sealed at its start."""

from __future__ import annotations

from pathlib import Path

import psycopg
from httpx import AsyncClient

from api.app import create_app
from db.sealing import Sealer, new_key
from tests.support.api import AsUser, Units, address_for, client_at
from tests.support.notifier import add_rule, remove_rules
from yiwang.settings import Settings

WECOM_KEY = "693a91f6-7a1c-4bc4-97a0-0ec2f1a5b7e3"
DING_TOKEN = "d1f8c2b7e4a9403c8e6f5b2a1c9d7e0f3a6b8c4d2e1f0a9b8c7d6e5f4a3b2c1d"
DING_SECRET = "SEC4d1b0e1c2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"


async def stored(url: str, rule_id: int) -> tuple[str, str | None]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT target, secret FROM notification_rule WHERE id = %s", (rule_id,))
        row = await cur.fetchone()
    assert row is not None
    return row[0], row[1]


async def test_a_robots_key_and_secret_are_stored_sealed_and_shown_masked(
    api_settings: Settings, client: AsyncClient, as_user: AsUser, units: Units
) -> None:
    admin = await as_user("admin")
    wecom = await client.post(
        "/notification-rules",
        json={"name": "企业微信值班群", "organisation_id": units.a.organisation, "channel": "wecom",
              "target": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"},
        headers=admin,
    )  # fmt: skip
    ding = await client.post(
        "/notification-rules",
        json={"name": "钉钉值班群", "organisation_id": units.a.organisation, "channel": "dingtalk",
              "target": f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}", "secret": DING_SECRET},
        headers=admin,
    )  # fmt: skip
    assert wecom.status_code == ding.status_code == 201, (wecom.text, ding.text)
    assert wecom.json()["target"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…b7e3"
    assert ding.json()["target"] == "https://oapi.dingtalk.com/robot/send?access_token=…2c1d"
    assert ding.json()["has_secret"] is True

    # In the table (and so in a dump): neither the key, the token nor the secret, only what the key seals.
    for rule in (wecom, ding):
        target, secret = await stored(api_settings.database_url, rule.json()["id"])
        assert target.startswith("fernet:")
        assert [k for k in (WECOM_KEY, DING_TOKEN) if k in target] == []
        assert secret is None or (secret.startswith("fernet:") and DING_SECRET not in secret)
    keys = Sealer(api_settings.secret_keys())
    assert keys.open((await stored(api_settings.database_url, ding.json()["id"]))[1] or "") == DING_SECRET

    # Whoever reads the rules, in any answer: never the key, the token or the secret.
    listed = await client.get("/notification-rules", headers=admin)
    switched = await client.patch(f"/notification-rules/{ding.json()['id']}", json={"enabled": False}, headers=admin)
    for answer in (listed, switched):
        assert answer.status_code == 200, answer.text
        assert [k for k in (WECOM_KEY, DING_TOKEN, DING_SECRET) if k in answer.text] == []
    shown = {r["id"]: r["target"] for r in listed.json()}
    assert shown[wecom.json()["id"]].endswith("key=…b7e3")


async def test_rules_stored_in_plain_text_are_sealed_at_the_apis_start_and_again_after_a_key_rotation(
    api_settings: Settings, client: AsyncClient, as_user: AsUser, units: Units
) -> None:
    url = api_settings.database_url
    plain = await add_rule(
        url, name="旧规则", organisation_id=units.b.organisation, channel="dingtalk", secret=DING_SECRET,
        target=f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}",
    )  # fmt: skip
    mail = await add_rule(
        url, name="邮件", organisation_id=units.b.organisation, channel="email", target="a@example.org"
    )
    old, new = api_settings.secret_keys(), new_key()
    # Rotated to a new key (the old one still given, second), then back, so that the session's other rules stay
    # readable by the stack's key.
    rotated = api_settings.model_copy(update={"secret_key": ",".join([new, *old])})
    back = api_settings.model_copy(update={"secret_key": ",".join([*old, new])})
    for settings in (api_settings, rotated, back):
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            pass
        target, secret = await stored(url, plain)
        assert [target[:7], (secret or "")[:7]] == ["fernet:", "fernet:"]
        assert secret is not None
        opened = Sealer(settings.secret_keys()[:1])  # the newest key alone opens both
        assert (opened.open(target), opened.open(secret)) == (
            f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}", DING_SECRET,
        )  # fmt: skip
    assert await stored(url, mail) == ("a@example.org", None)  # addresses are no key: shown as they are
    listed = (await client.get("/notification-rules", headers=await as_user("admin"))).json()
    assert next(r for r in listed if r["id"] == plain)["target"].endswith("access_token=…2c1d")
    await remove_rules(url, units.b.organisation)


async def test_without_a_key_robot_rules_are_refused_and_the_api_still_serves(
    api_settings: Settings, as_user: AsUser, units: Units, tag: str, tmp_path: Path
) -> None:
    admin = await as_user("admin")
    keyless = api_settings.model_copy(update={"secret_key_file": tmp_path / "no-such-key"})
    application = create_app(keyless)  # starts, though sealed rules of the session cannot be opened: logged
    async with application.router.lifespan_context(application), client_at(application, address_for(tag, 1)) as c:
        robot = await c.post(
            "/notification-rules",
            json={"name": "企业微信", "organisation_id": units.b.organisation, "channel": "wecom",
                  "target": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}"},
            headers=admin,
        )  # fmt: skip
        assert robot.status_code == 422, robot.text
        assert "no YIWANG_SECRET_KEY" in robot.json()["detail"]
        mail = await c.post(
            "/notification-rules",
            json={"name": "邮件", "organisation_id": units.b.organisation, "channel": "email", "target": "a@b.org"},
            headers=admin,
        )
        assert mail.status_code == 201, mail.text
        assert (await c.get("/notification-rules", headers=admin)).status_code == 200
    await remove_rules(api_settings.database_url, units.b.organisation)
