"""Notification rules as admins keep them (who is told of what, and how: docs/notifications.md), and the record of
deliveries the notifier made."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.access.rules import Role
from api.errors import NotFound, Refused
from api.fields import NO_NUL, LocalTime, Text
from db import notifications as notifications_db
from db.sealing import Sealer, Unsealable
from domain.notifications import ROBOTS, Channel, DeliveryStatus, Event, masked_url
from domain.supervision import AlertKind, Level
from yiwang.settings import Settings

log = logging.getLogger(__name__)


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    enabled: bool = True
    organisation_id: Text | None = Field(default=None, description="the alerts' unit; null: every unit")
    kinds: list[AlertKind] | None = Field(default=None, min_length=1, description="null: every kind")
    levels: list[Level] | None = Field(default=None, min_length=1, description="severities; null: both")
    event: Event = Field(default="new", description="new: as alerts are raised; escalation: as they are escalated")
    channel: Channel = Field(description="email (SMTP), wecom (企业微信 group robot), dingtalk (钉钉 group robot)")
    target: str | None = Field(
        default=None, min_length=1, max_length=2000, pattern=NO_NUL,
        description="email: addresses, comma-separated; wecom, dingtalk: the robot's webhook URL (http or https)",
    )  # fmt: skip
    role: Role | None = Field(
        default=None,
        description="email: also every enabled user of this role with an address (unit users: of organisation_id)",
    )
    secret: str | None = Field(default=None, max_length=200, pattern=NO_NUL, description="钉钉's 加签 secret (SEC...)")
    quiet_start: LocalTime | None = Field(default=None, description="local time: yellow alerts wait until quiet_end")
    quiet_end: LocalTime | None = None
    digest_minutes: int | None = Field(
        default=None, ge=5, le=10080, description="one summary of the yellow alerts per this many minutes"
    )

    @field_validator("kinds", "levels")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else sorted(set(value))

    @model_validator(mode="after")
    def _consistent(self) -> RuleCreate:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("give both quiet_start and quiet_end, or neither")
        if self.quiet_start is not None and self.quiet_start == self.quiet_end:
            raise ValueError("quiet hours of no length: quiet_start equals quiet_end")
        if self.channel == "email":
            if self.target is None and self.role is None:
                raise ValueError("an email rule names addresses (target), a role, or both")
            if self.target is not None and any("@" not in a.strip() for a in self.target.split(",")):
                raise ValueError("an email rule's target is addresses, comma-separated")
            if self.role == "unit_user" and self.organisation_id is None:
                raise ValueError("a rule for unit users names their organisation_id (each sees only its own)")
        else:
            if self.role is not None:
                raise ValueError("only email rules reach users by role: a robot's group is its target")
            parts = urlsplit(self.target or "")
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"a {self.channel} rule's target is the robot's webhook URL (http or https)")
        if self.secret is not None and self.channel != "dingtalk":
            raise ValueError("only 钉钉 robots sign with a secret")
        return self


class RulePublic(BaseModel):
    id: int
    name: str
    enabled: bool
    organisation_id: str | None
    kinds: list[str] | None
    levels: list[str] | None
    event: Event
    channel: Channel
    target: str | None = Field(
        description="email: the addresses; a robot: its webhook URL masked (key=…abcd: the key itself is never shown)"
    )
    role: str | None
    has_secret: bool = Field(description="whether 钉钉 signing is on (the secret itself is never shown)")
    quiet_start: LocalTime | None
    quiet_end: LocalTime | None
    digest_minutes: int | None
    created_at: datetime
    created_by: int | None


class _RuleRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int
    name: str
    enabled: bool
    organisation_id: str | None
    kinds: list[str] | None
    levels: list[str] | None
    event: Event
    channel: Channel
    target: str | None
    role: str | None
    secret: str | None
    quiet_start: LocalTime | None
    quiet_end: LocalTime | None
    digest_minutes: int | None
    created_at: datetime
    created_by: int | None

    def public(self, sealer: Sealer) -> RulePublic:
        target = self.target
        if target is not None and self.channel in ROBOTS:
            try:
                target = masked_url(sealer.open(target))
            except Unsealable:
                target = "(sealed with a key not among YIWANG_SECRET_KEY's)"
        shown = self.model_dump(exclude={"secret", "target"})
        return RulePublic(**shown, target=target, has_secret=self.secret is not None)


class DeliveryPublic(BaseModel):
    id: int
    rule_id: int
    key: str = Field(description="alert:<id>, escalation:<id>, or <event>-digest:<bucket start>")
    alert_ids: list[int]
    channel: Channel
    target: str = Field(description="whom it was sent to (a robot's webhook URL masked)")
    status: DeliveryStatus = Field(description="pending (due_at: the next attempt), sent, dead (given up)")
    attempts: int
    last_error: str | None
    created_at: datetime
    due_at: datetime
    sent_at: datetime | None
    updated_at: datetime


def sealer_of(settings: Settings) -> Sealer:
    """The sealer of the settings' keys (YIWANG_SECRET_KEY or its file, read again each time: a rotated key counts).

    Raises:
        ValueError: a key is not a key.
    """
    return _sealer(tuple(settings.secret_keys()))


@lru_cache(maxsize=4)
def _sealer(keys: tuple[str, ...]) -> Sealer:
    return Sealer(keys)


async def seal_rules(pool: AsyncConnectionPool[AsyncConnection], sealer: Sealer) -> None:
    """Seal the rules' secrets with the newest key (at the API's start): those of rules stored before sealing began,
    and those sealed with an older key after a rotation (docs/notifications.md). A rule that cannot be is logged and
    left as it is: no key set, or sealed with a key no longer given."""
    async with pool.connection() as conn:
        done, problems = await notifications_db.reseal(conn, sealer)
    if done:
        log.info("notification rules: the secrets of %d sealed with the newest key", done)
    for problem in problems:
        log.warning("%s: its secrets stay as stored", problem)


async def rules(conn: AsyncConnection, sealer: Sealer) -> list[RulePublic]:
    return [r.public(sealer) for r in await notifications_db.rules(conn, _RuleRow)]


async def create_rule(conn: AsyncConnection, body: RuleCreate, sealer: Sealer, *, user_id: int) -> RulePublic:
    """A new rule; a robot's webhook URL and a signing secret stored sealed (db/sealing.py).

    Raises:
        Refused: its organisation is unknown, or secrets cannot be sealed (no YIWANG_SECRET_KEY).
    """
    values: dict[str, Any] = {**body.model_dump(), "created_by": user_id}
    try:
        if body.channel in ROBOTS and body.target is not None:
            values["target"] = sealer.seal(body.target)
        if body.secret is not None:
            values["secret"] = sealer.seal(body.secret)
    except Unsealable as e:
        raise Refused(f"a robot's webhook URL is stored encrypted, and {e}: ask the operator") from e
    try:
        async with conn.transaction():
            created = await notifications_db.insert_rule(conn, _RuleRow, values)
    except errors.ForeignKeyViolation as e:
        raise Refused(f"no organisation {body.organisation_id}") from e
    return created.public(sealer)


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(description="off: the rule plans nothing (its pending deliveries are still sent)")


async def update_rule(conn: AsyncConnection, rule_id: int, change: RuleUpdate, sealer: Sealer) -> RulePublic:
    """Switch a rule on or off.

    Raises:
        NotFound: there is no such rule.
    """
    found = await notifications_db.set_enabled(conn, _RuleRow, rule_id, enabled=change.enabled)
    if found is None:
        raise NotFound(f"no notification rule {rule_id}")
    return found.public(sealer)


async def delete_rule(conn: AsyncConnection, rule_id: int) -> None:
    """Remove a rule and its deliveries' records.

    Raises:
        NotFound: there is no such rule.
    """
    if not await notifications_db.delete_rule(conn, rule_id):
        raise NotFound(f"no notification rule {rule_id}")


async def deliveries(
    conn: AsyncConnection, *, after: int | None, limit: int, rule_id: int | None, status: str | None
) -> list[DeliveryPublic]:
    return await notifications_db.deliveries(
        conn, DeliveryPublic, after=after, limit=limit, filters={"rule_id": rule_id, "status": status}
    )
