"""Who may publish and subscribe to which topic: Mosquitto's password and ACL files.

A device's MQTT username is its registry id and it may publish only to its own topic; it may
subscribe to nothing. Service accounts hold roles: a collector reads every device topic (also
through a $share group), a gateway publishes for many devices (a JT/T 808 gateway, a meter
concentrator's uplink, the simulators), the API reads positions, an observer reads everything.
Mosquitto reloads the files on SIGHUP, so access changes without dropping a connection.

Devices and services log in at different listeners, each with a password file of its own: at the devices'
listener the client id is the user name, so a device can take no other client's session, and a device's
password does not work at the services' listener (docs/access.md, "Broker accounts and sessions").
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from psycopg import AsyncConnection

from db import broker_accounts
from db.broker_accounts import DeviceAccount, ServiceAccount
from domain.ids import device_id_problem, is_user_name
from domain.topics import EMQX_JT808_UP, FAMILIES, Family, topic

ROLES: dict[str, tuple[str, Sequence[str]]] = {
    # role: (access, the families it applies to; "#" for everything under the root)
    "collector": ("read", [f.name for f in FAMILIES]),
    "gateway": ("write", [f.name for f in FAMILIES]),
    "api": ("read", ["position"]),
    # A person watching the traffic (`mosquitto_sub -t '<root>/#'`), or a test.
    "observer": ("read", ["#"]),
    # EMQX's JT/T 808 gateway where EMQX bridges into this broker, or a test standing for it: it publishes only on
    # its own up topic, outside the root (_OUTSIDE_ROOT).
    "emqx_gateway": ("write", []),
}
# Grants outside the root: EMQX's JT/T 808 up topic (domain/topics.py), which a collector reads when the deployment
# turns on YIWANG_EMQX_JT808; the grant is harmless where nothing publishes there.
_OUTSIDE_ROOT: dict[str, list[str]] = {
    "collector": [f"topic read {EMQX_JT808_UP}"],
    "emqx_gateway": [f"topic write {EMQX_JT808_UP}"],
}
# Mosquitto's default. Device secrets are 144 random bits, which no iteration count protects
# further; a high count would only cost the broker CPU at every reconnect of thousands of devices.
_ITERATIONS = 101


def new_secret() -> str:
    """A device or service password: 144 random bits, URL- and config-safe."""
    return secrets.token_urlsafe(18)


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """The password as Mosquitto 2 stores it: `$7$iterations$salt$PBKDF2-SHA512` in base64."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _grants(root: str, roles: Iterable[str]) -> list[str]:
    everything = [f"topic {ROLES[role][0]} {root}/#" for role in roles if "#" in ROLES[role][1]]
    return (
        everything
        + [
            f"topic {ROLES[role][0]} {topic(root, family.device, '+', family.name)}"
            for role in roles
            for family in FAMILIES
            if family.name in ROLES[role][1]
        ]
        + [grant for role in roles for grant in _OUTSIDE_ROOT.get(role, [])]
    )


class Files(NamedTuple):
    """Where the broker reads its accounts: one password file per listener kind, one ACL for both."""

    passwords: Path  # service accounts
    device_passwords: Path
    acl: Path


class Rendered(NamedTuple):
    passwords: str
    device_passwords: str
    acl: str
    # Why each account was left out: one bad entry must not stop every other device's provisioning.
    skipped: list[str]


def render(root: str, services: Sequence[ServiceAccount], devices: Sequence[DeviceAccount]) -> Rendered:
    """The password files and the ACL file for these accounts, without those that would break them."""
    skipped = [f"service account {s.username!r}: not a user name" for s in services if not is_user_name(s.username)]
    services = [s for s in services if is_user_name(s.username)]
    names = {s.username for s in services}
    kept = []
    for d in devices:
        if (problem := device_id_problem(d.device_id)) is not None:
            skipped.append(f"device {d.device_id!r}: {problem}")
        elif d.device_id in names:
            skipped.append(f"device {d.device_id!r}: a service account has this name")
        else:
            kept.append(d)
    passwords = "".join(f"{s.username}:{s.password_hash}\n" for s in services)
    device_passwords = "".join(f"{d.device_id}:{d.password_hash}\n" for d in kept)
    # Lines before the first `user` would apply to anonymous clients; there are none, and
    # anonymous access is off.
    acl = ["# Written by `yiwang broker sync` from the database; edits are overwritten."]
    for s in services:
        acl += ["", f"user {s.username}", *_grants(root, s.roles)]
    family: dict[str, Family] = {f.device: f for f in FAMILIES}
    for d in kept:
        f = family[d.device_kind]
        acl += ["", f"user {d.device_id}", f"topic write {topic(root, f.device, d.device_id, f.name)}"]
    return Rendered(passwords, device_passwords, "\n".join(acl) + "\n", skipped)


def write_files(files: Files, rendered: Rendered, *, mode: int = 0o600) -> None:
    """Replace each file whole, so that Mosquitto never reads half of one. Only hashes are in them, but
    they stay private (0600) unless a broker running as another user must read them."""
    for path, text in zip(files, rendered[:3], strict=True):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(mode)
        tmp.replace(path)


class Synced(NamedTuple):
    services: int
    devices: int
    skipped: list[str]


async def sync(conn: AsyncConnection, root: str, files: Files, mode: int = 0o600) -> Synced:
    """Write the files from the database; bad entries are left out and said. The caller reloads."""
    services, devices = await broker_accounts.accounts(conn)
    rendered = render(root, services, devices)
    write_files(files, rendered, mode=mode)
    return Synced(rendered.passwords.count("\n"), rendered.device_passwords.count("\n"), rendered.skipped)


async def add_service_account(conn: AsyncConnection, username: str, roles: Sequence[str], password: str) -> None:
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles are {sorted(ROLES)}, not {sorted(unknown) or 'none'}")
    if not is_user_name(username):
        raise ValueError(f"{username!r}: a service account's name is a letter or digit, then letters, digits, _ . -")
    if await broker_accounts.registered_kind(conn, username) is not None:
        raise ValueError(f"{username!r} is a device id: a service account needs a name of its own")
    await broker_accounts.set_service_account(conn, username, roles, mosquitto_hash(password))


async def issue_device_credentials(conn: AsyncConnection, renew: Sequence[str] = ()) -> list[tuple[str, str, str]]:
    """New secrets for every registered device without one, and for the `renew` ids.

    Returns:
        (kind, device id, secret) for each: the only time a secret is seen; provision it to the device.
    """
    wanted = await broker_accounts.devices_without_credential(conn)
    for device_id in renew:
        kind = await broker_accounts.registered_kind(conn, device_id)
        if kind is None:
            raise ValueError(f"{device_id!r} is not a registered meter or vehicle")
        wanted.append((kind, device_id))
    issued = []
    for kind, device_id in wanted:
        secret = new_secret()
        await broker_accounts.set_device_credential(conn, kind, device_id, mosquitto_hash(secret))
        issued.append((kind, device_id, secret))
    return issued
