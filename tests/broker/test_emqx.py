"""EMQX's authentication and authorisation read from the database: the queries of broker/emqx/emqx.conf, run as
EMQX runs them (tests/support/emqx_auth.py) against the real database as EMQX's own role, and the attacks on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from broker import access
from db.broker_accounts import accounts
from tests.support.emqx_auth import Conf, authenticate, authorize, grants, read_conf
from tests.support.registry import Devices
from yiwang.settings import Settings

ROOT = "yiwang"  # the topic root the authorizer's query writes (compose's YIWANG_MQTT_TOPIC_ROOT)
Denied = psycopg.errors.InsufficientPrivilege


@dataclass(frozen=True)
class Accounts:
    """One test's broker accounts: each device's secret, and services of each role."""

    secrets: dict[str, str]  # user name -> secret, devices and services
    collector: str
    gateway: str
    observer: str
    emqx_gateway: str


@pytest.fixture(scope="module")
def conf() -> Conf:
    return read_conf()


@pytest.fixture
def emqx(settings: Settings) -> Iterator[psycopg.Connection]:
    """A connection as the role EMQX logs in as (yiwang_emqx), as its three PostgreSQL clients connect."""
    assert settings.emqx_database_url is not None
    with psycopg.connect(settings.emqx_database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
async def issued(settings: Settings, devices: Devices, tag: str) -> Accounts:
    """Credentials for the test's devices and a service account of each role, as `yiwang broker` makes them."""
    names = {role: f"{role.replace('_', '-')}-{tag}" for role in ("collector", "gateway", "observer", "emqx_gateway")}
    secrets: dict[str, str] = {}
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        for role, name in names.items():
            secrets[name] = access.new_secret()
            await access.add_service_account(conn, name, [role], secrets[name])
        issued = await access.issue_device_credentials(conn, renew=[*devices.meters, *devices.vehicles])
        await conn.commit()
    secrets |= {device: secret for _, device, secret in issued}
    return Accounts(secrets, names["collector"], names["gateway"], names["observer"], names["emqx_gateway"])


def _device_login(emqx: psycopg.Connection, conf: Conf, username: str, password: str, clientid: str = "") -> bool:
    return authenticate(
        emqx, conf, conf.devices_query, username=username, clientid=clientid or username, password=password
    )


def _service_login(emqx: psycopg.Connection, conf: Conf, username: str, password: str) -> bool:
    return authenticate(
        emqx, conf, conf.services_query, username=username, clientid=f"yiwang-{username}", password=password
    )


def test_the_configuration_hashes_as_mosquitto_and_refuses_what_no_row_allows(conf: Conf) -> None:
    """One secret per account works at either broker: EMQX checks Mosquitto's PBKDF2-SHA512 with its parameters."""
    _, _, iterations, _, digest = access.mosquitto_hash("x").split("$")
    assert (conf.hashing.mac_fun, conf.hashing.iterations) == ("sha512", int(iterations))
    assert conf.hashing.dk_length == len(access.base64.b64decode(digest))
    # Only the database's rows decide (EMQX's default acl.conf would allow all), and what no row allows is refused.
    assert (conf.no_match, conf.sources) == ("deny", 1)


def test_emqx_s_role_reads_the_two_views_and_nothing_else(emqx: psycopg.Connection) -> None:
    for view in ("mqtt_user", "mqtt_acl"):
        emqx.execute(f"SELECT * FROM {view} LIMIT 1")
    for table in ("device_credential", "service_account", "broker_device", "vehicle", "meter", "app_user", "reading"):
        with pytest.raises(Denied):
            emqx.execute(f"SELECT 1 FROM {table} LIMIT 1")
    writes = emqx.execute(
        "SELECT bool_or(has_table_privilege(v, p)) FROM unnest(ARRAY['mqtt_user', 'mqtt_acl']) v, "
        "unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p"
    ).fetchone()
    assert writes == (False,)


async def test_each_account_logs_in_with_its_own_secret_at_its_own_listener(
    emqx: psycopg.Connection, conf: Conf, devices: Devices, issued: Accounts
) -> None:
    for device in (devices.meters[0], devices.vehicles[0]):
        assert _device_login(emqx, conf, device, issued.secrets[device])
    assert _service_login(emqx, conf, issued.collector, issued.secrets[issued.collector])
    # Nobody is a superuser, whom EMQX would let past the authorizer.
    assert emqx.execute("SELECT bool_or(is_superuser) FROM mqtt_user").fetchone() == (False,)


async def test_a_device_s_password_opens_no_other_account(
    emqx: psycopg.Connection, conf: Conf, devices: Devices, issued: Accounts
) -> None:
    meter, other = devices.meters[0], devices.meters[1]
    secret = issued.secrets[meter]
    assert not _device_login(emqx, conf, other, secret)
    assert not _device_login(emqx, conf, devices.vehicles[0], secret)
    assert not _device_login(emqx, conf, meter, "guess")
    assert not _device_login(emqx, conf, meter, "")
    # Nor the services' listener: a device is no service, whatever its password.
    assert not _service_login(emqx, conf, meter, secret)


async def test_a_device_cannot_take_a_service_s_or_another_device_s_session(
    emqx: psycopg.Connection, conf: Conf, devices: Devices, issued: Accounts
) -> None:
    meter = devices.meters[0]
    secret = issued.secrets[meter]
    for clientid in ("yiwang-collector", "yiwang-supervisor", devices.meters[1], f"{meter}-2"):
        assert not _device_login(emqx, conf, meter, secret, clientid=clientid)
    # A service account's password at the devices' listener opens nothing either.
    assert not _device_login(emqx, conf, issued.collector, issued.secrets[issued.collector])


async def test_an_unknown_or_anonymous_client_is_refused(
    emqx: psycopg.Connection, conf: Conf, devices: Devices, issued: Accounts, tag: str
) -> None:
    for query in (conf.devices_query, conf.services_query):
        for username in (f"nobody-{tag}", ""):
            assert not authenticate(emqx, conf, query, username=username, clientid=username, password="x")
        # A placeholder's value is bound, never spliced into the SQL.
        injected = "x' OR kind = 'device' OR '1' = '1"
        assert not authenticate(emqx, conf, query, username=injected, clientid=injected, password="x")


async def test_a_retired_vehicle_and_a_removed_device_are_refused(
    emqx: psycopg.Connection, conf: Conf, settings: Settings, devices: Devices, issued: Accounts
) -> None:
    vehicle, meter = devices.vehicles[2], devices.meters[2]
    assert _device_login(emqx, conf, vehicle, issued.secrets[vehicle])
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        await conn.execute(
            "UPDATE vehicle SET lifecycle = 'retired', retired_on = current_date, retired_how = 'scrapped' "
            "WHERE id = %s",
            [vehicle],
        )
        await conn.execute("DELETE FROM meter WHERE id = %s", [meter])
        await conn.commit()
    assert not _device_login(emqx, conf, vehicle, issued.secrets[vehicle])
    assert not _device_login(emqx, conf, meter, issued.secrets[meter])
    assert grants(emqx, conf, vehicle) == set()
    assert not authorize(
        emqx, conf, username=vehicle, clientid=vehicle, action="publish", topic=f"{ROOT}/vehicle/{vehicle}/position"
    )


async def test_a_device_publishes_only_to_its_own_topic_and_subscribes_to_nothing(
    emqx: psycopg.Connection, conf: Conf, devices: Devices, issued: Accounts
) -> None:
    meter, vehicle = devices.meters[0], devices.vehicles[0]

    def may(action: str, topic: str, who: str = meter) -> bool:
        return authorize(emqx, conf, username=who, clientid=who, action=action, topic=topic)  # type: ignore[arg-type]

    own = f"{ROOT}/meter/{meter}/reading"
    assert may("publish", own)
    assert may("publish", f"{ROOT}/vehicle/{vehicle}/position", who=vehicle)
    for topic in (
        f"{ROOT}/meter/{devices.meters[1]}/reading",  # another meter's
        f"{ROOT}/meter/{meter}/position",  # its own id in another family
        f"{ROOT}/vehicle/{meter}/position",
        f"{ROOT}/meter/+/reading",
        "jt808/x/y/up",
        f"other/meter/{meter}/reading",
    ):
        assert not may("publish", topic), topic
    for topic in (own, f"{ROOT}/#", "#", f"$share/g/{own}", f"{ROOT}/meter/+/reading"):
        assert not may("subscribe", topic), topic


async def test_services_do_what_their_roles_grant_and_nothing_else(
    emqx: psycopg.Connection, conf: Conf, devices: Devices, issued: Accounts
) -> None:
    reading = f"{ROOT}/meter/{devices.meters[0]}/reading"

    def may(who: str, action: str, topic: str) -> bool:
        return authorize(emqx, conf, username=who, clientid=f"yiwang-{who}", action=action, topic=topic)  # type: ignore[arg-type]

    # The collector reads every device topic, also through a shared group, and EMQX's JT/T 808 up topic; it writes none.
    for topic in (f"$share/yiwang/{ROOT}/meter/+/reading", f"{ROOT}/vehicle/+/position", "$share/g/jt808/+/+/up"):
        assert may(issued.collector, "subscribe", topic), topic
    assert not may(issued.collector, "subscribe", f"{ROOT}/#")
    assert not may(issued.collector, "publish", reading)
    # A gateway publishes for any device, under the root only, and reads nothing.
    assert may(issued.gateway, "publish", reading)
    assert not may(issued.gateway, "publish", "jt808/1/2/up")
    assert not may(issued.gateway, "subscribe", f"{ROOT}/meter/+/reading")
    # An observer reads everything under the root.
    assert may(issued.observer, "subscribe", f"{ROOT}/#")
    assert not may(issued.observer, "subscribe", "#")
    assert not may(issued.observer, "publish", reading)
    # EMQX's own JT/T 808 gateway writes its up topic and nothing under the root.
    assert may(issued.emqx_gateway, "publish", "jt808/13800000000/13800000000/up")
    assert not may(issued.emqx_gateway, "publish", reading)


async def test_emqx_s_rules_are_mosquitto_s(
    emqx: psycopg.Connection, conf: Conf, settings: Settings, devices: Devices, issued: Accounts
) -> None:
    """Who may log in and what each may do, at EMQX through the views and at Mosquitto through its rendered files,
    for the same accounts, bad ones included: ids registered before they were checked, and a retired vehicle."""
    tag = devices.organisation.removeprefix("org-")
    bad = [f"m:{tag}", issued.gateway, f"yiwang-{tag}"]  # a colon, a service account's name, a service's prefix
    ours = [*issued.secrets, *bad]
    async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
        for device in bad:
            await conn.execute(
                "INSERT INTO meter (id, institution_id, energy_type, unit) "
                "SELECT %s, institution_id, energy_type, unit FROM meter WHERE id = %s",
                (device, devices.meters[0]),
            )
            await conn.execute(
                "INSERT INTO device_credential (device_id, device_kind, password_hash) VALUES (%s, 'meter', %s)",
                (device, access.mosquitto_hash("x")),
            )
        await conn.execute(
            "UPDATE vehicle SET lifecycle = 'retired', retired_on = current_date, retired_how = 'auctioned' "
            "WHERE id = %s",
            [devices.vehicles[1]],
        )
        await conn.commit()
        try:
            services, all_devices = await accounts(conn)
            emqx_users = set(emqx.execute("SELECT username, kind FROM mqtt_user WHERE username = ANY(%s)", [ours]))
            emqx_grants = {
                (user, action, topic) for user, _ in emqx_users for action, topic in grants(emqx, conf, user)
            }
        finally:
            await conn.execute("DELETE FROM device_credential WHERE device_id = ANY(%s)", [bad])
            await conn.execute("DELETE FROM meter WHERE id = ANY(%s)", [bad])
            await conn.commit()
    rendered = access.render(
        ROOT, [s for s in services if s.username in ours], [d for d in all_devices if d.device_id in ours]
    )
    # Mosquitto: the accounts of its two password files (services', devices'), and the grants of its ACL file.
    mosquitto_users = {
        (line.split(":")[0], kind)
        for kind, text in (("service", rendered.passwords), ("device", rendered.device_passwords))
        for line in text.splitlines()
    }
    mosquitto_grants = set()
    for block in rendered.acl.split("\n\n")[1:]:
        user, *lines = block.splitlines()
        for line in lines:
            _, kind, topic = line.split(" ")
            mosquitto_grants.add((user.removeprefix("user "), "subscribe" if kind == "read" else "publish", topic))
    assert emqx_users == mosquitto_users
    # Every account of the test but the retired vehicle, and none of the bad device entries.
    assert {user for user, _ in mosquitto_users} == set(issued.secrets) - {devices.vehicles[1]}
    assert emqx_grants == mosquitto_grants
