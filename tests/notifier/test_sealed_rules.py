"""Rules whose robot keys and secrets are stored sealed (as the API stores them) still deliver to the real receiver;
the record of a delivery never holds the key; a rule sealed with a key the notifier lacks fails with a reason, alone."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time as clock
from datetime import UTC, datetime

from db.sealing import Sealer, new_key
from tests.support.notifier import add_rule, deliveries, notifying, raise_alert
from tests.support.receivers import Receiver
from tests.support.registry import Devices
from yiwang.settings import Settings

KEY = "a6c1f0e2-sealed-wecom-key-77b3"
TOKEN = "f00dfeed-sealed-ding-token-9e41"
SECRET = "SECsealed-signing-secret-0c5d"


async def settled(url: str, rule: int, seconds: float = 20) -> dict[str, object]:
    """The rule's one delivery once it is sent or dead."""
    deadline = clock.monotonic() + seconds
    while not (found := await deliveries(url, rule)) or found[0]["status"] == "pending":
        if clock.monotonic() > deadline:
            raise AssertionError(f"rule {rule}'s deliveries are {found}")
        await asyncio.sleep(0.1)  # between polls of the database, not in place of a condition
    return found[0]


async def test_sealed_rules_deliver_to_the_receiver_and_their_records_hold_no_key(
    notifier_settings: Settings, unit: Devices, webhook: Receiver
) -> None:
    url, org, hook = notifier_settings.database_url, unit.organisation, f"http://127.0.0.1:{webhook.port}"
    keys, foreign = Sealer(notifier_settings.secret_keys()), Sealer([new_key()])
    wecom = await add_rule(url, name="企业微信群", organisation_id=org, channel="wecom",
                           target=keys.seal(f"{hook}/sealed/wecom?key={KEY}"))  # fmt: skip
    ding = await add_rule(url, name="钉钉群", organisation_id=org, channel="dingtalk", secret=keys.seal(SECRET),
                          target=keys.seal(f"{hook}/sealed/ding?access_token={TOKEN}"))  # fmt: skip
    lost = await add_rule(url, name="另一把钥匙", organisation_id=org, channel="wecom",
                          target=foreign.seal(f"{hook}/sealed/lost?key={KEY}"))  # fmt: skip
    async with notifying(notifier_settings):
        await raise_alert(url, unit.vehicles[0], org, "area_exit", "red", datetime.now(UTC))
        sent_wecom, sent_ding, failed = [await settled(url, rule) for rule in (wecom, ding, lost)]

    assert (sent_wecom["status"], sent_ding["status"]) == ("sent", "sent")
    assert sent_wecom["target"] == f"{hook}/sealed/wecom?key=…77b3"
    assert sent_ding["target"] == f"{hook}/sealed/ding?access_token=…9e41"
    received = {r["path"]: r for r in webhook.received()}
    assert received["/sealed/wecom"]["query"] == {"key": KEY}
    signed = received["/sealed/ding"]["query"]
    assert signed["access_token"] == TOKEN
    expected = hmac.new(SECRET.encode(), f"{signed['timestamp']}\n{SECRET}".encode(), hashlib.sha256).digest()
    assert signed["sign"] == base64.b64encode(expected).decode()

    # Sealed with a key the notifier was not given: never sent, the reason recorded, the others delivered anyway.
    assert "/sealed/lost" not in received
    assert failed["status"] == "dead"
    assert "cannot be read" in str(failed["last_error"])
    for record in (sent_wecom, sent_ding, failed):
        assert KEY not in str(record)
        assert TOKEN not in str(record)
