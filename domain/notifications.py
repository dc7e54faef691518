"""Who is told of what, and when (docs/notifications.md): the rules' matching, quiet hours, digests and retries.

- A rule matches an alert by its unit (none: every unit), kinds and levels (none: all), and event: `new` when the
  alert is raised, `escalation` when it stayed unacknowledged past the escalation setting (the next level of people).
- Quiet hours (local time, may span midnight): a yellow alert is held until they end; a red one is delivered at once
  (someone may be in danger, or a terminal being removed: an alarm waits for nobody's sleep).
- A digest rule gathers its yellow alerts into one message per `digest_minutes` bucket of local time, sent when the
  bucket ends (or when the quiet hours it ends in are over); a red alert is still sent at once, on its own.
- A failed delivery is tried again after `base * 2^(attempts-1)` seconds, capped, and dead after the attempts allowed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final, Literal, get_args
from zoneinfo import ZoneInfo

Channel = Literal["email", "wecom", "dingtalk"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)
Event = Literal["new", "escalation"]
EVENTS: Final[tuple[Event, ...]] = get_args(Event)
DeliveryStatus = Literal["pending", "sent", "dead"]

_EPOCH = datetime(2000, 1, 1)  # local buckets count from a local midnight


ROBOTS: Final[frozenset[Channel]] = frozenset({"wecom", "dingtalk"})  # their target is a webhook URL with its key
_SHOWN = 4  # of a key's last characters


def masked_url(url: str) -> str:
    """A robot's webhook URL as shown and recorded: each query value cut to its last four characters (key=…abcd),
    enough to tell two robots apart, too little to post to one (企业微信's `key`, 钉钉's `access_token`)."""
    base, asks, query = url.partition("?")
    if not asks:
        return base
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        pairs.append(f"{name}=…{value[-_SHOWN:] if len(value) > 2 * _SHOWN else ''}" if equals else name)
    return f"{base}?{'&'.join(pairs)}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A notification rule as the notifier applies it."""

    id: int
    organisation_id: str | None
    kinds: frozenset[str] | None
    levels: frozenset[str] | None
    event: Event
    channel: Channel
    target: str | None  # email: addresses; a robot: its webhook URL
    role: str | None = None  # email: also the addresses of this role's users (a unit user: of the rule's unit)
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest_minutes: int | None = None

    @property
    def recipients(self) -> str:
        """Who the rule names, as a delivery records it before it is sent (a robot's URL masked)."""
        target = self.target if self.channel == "email" or self.target is None else masked_url(self.target)
        return ", ".join(filter(None, [target, None if self.role is None else f"role:{self.role}"]))

    def matches(self, *, organisation_id: str, kind: str, level: str, event: Event) -> bool:
        return (
            self.event == event
            and (self.organisation_id is None or self.organisation_id == organisation_id)
            and (self.kinds is None or kind in self.kinds)
            and (self.levels is None or level in self.levels)
        )


def quiet_at(start: time, end: time, moment: time) -> bool:
    """Whether a local time of day falls in quiet hours [start, end), which may span midnight (22:00-07:00)."""
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end


def after_quiet(rule: Rule, moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment`, or the end of the rule's quiet hours when it falls in them."""
    if rule.quiet_start is None or rule.quiet_end is None:
        return moment
    local = moment.astimezone(zone)
    if not quiet_at(rule.quiet_start, rule.quiet_end, local.time()):
        return moment
    end = local.replace(hour=rule.quiet_end.hour, minute=rule.quiet_end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end


def bucket_start(moment: datetime, minutes: int, zone: ZoneInfo) -> datetime:
    """The start of the digest bucket of `minutes` (local time, counted from a local midnight) holding `moment`."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    elapsed = (local - _EPOCH) // timedelta(minutes=1)
    return (_EPOCH + timedelta(minutes=elapsed - elapsed % minutes)).replace(tzinfo=zone)


def plan(rule: Rule, level: str, now: datetime, zone: ZoneInfo) -> tuple[str | None, datetime]:
    """When this rule delivers an alert of `level` matched at `now`: the digest bucket it joins (its start as
    ISO text; None: a message of its own) and when it is due."""
    if level == "red":
        return None, now
    if rule.digest_minutes is not None:
        start = bucket_start(now, rule.digest_minutes, zone)
        return start.isoformat(), after_quiet(rule, start + timedelta(minutes=rule.digest_minutes), zone)
    return None, after_quiet(rule, now, zone)


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> float:
    """Seconds to wait before the next try after `attempts` failed ones (exponential, capped)."""
    return min(cap_seconds, base_seconds * 2.0 ** max(0, attempts - 1))


def matching(rules: Collection[Rule], *, organisation_id: str, kind: str, level: str, event: Event) -> list[Rule]:
    """The rules that tell someone of this alert and event."""
    return [r for r in rules if r.matches(organisation_id=organisation_id, kind=kind, level=level, event=event)]
