"""What a message says about alerts: a subject and a text, and the JSON the 企业微信 and 钉钉 group robots take.

企业微信 (WeCom) group robot: POST {"msgtype": "markdown", "markdown": {"content": ...}} (content at most 4096
bytes) to https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...; it answers {"errcode": 0, "errmsg": "ok"}.
钉钉 (DingTalk) group robot: POST {"msgtype": "markdown", "markdown": {"title": ..., "text": ...}} to
https://oapi.dingtalk.com/robot/send?access_token=...; with signing on (加签), the URL also carries `timestamp` (ms)
and `sign` = urlencode(base64(HMAC-SHA256(key=secret, message=f"{timestamp}\\n{secret}"))). It answers errcode 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.labels import ALERT_KIND, ALERT_LEVEL, ENERGY_TYPE
from domain.vocabulary import Language, told

_LEVEL = ALERT_LEVEL
# The messages' language: their subjects and kinds are in Chinese, so is each alert's detail (rendered from its
# parameters; an alert raised before they were kept keeps its English text). Rules name no language of their own.
_LANGUAGE: Language = "zh"
_WECOM_MAX_BYTES = 4096


def subject(alerts: Sequence[Mapping[str, Any]], *, escalation: bool) -> str:
    """One line: what happened, to which vehicle or institution (or how many alerts a digest holds, and of what)."""
    prefix = "【升级】" if escalation else ""
    if len(alerts) == 1:
        a = alerts[0]
        return f"{prefix}{_LEVEL.get(a['level'], a['level'])}: {ALERT_KIND.get(a['kind'], a['kind'])} {_who(a)}"
    energy = sum(a.get("vehicle_id") is None for a in alerts)
    title = "督车汇总" if energy == 0 else "能耗汇总" if energy == len(alerts) else "督车与能耗汇总"
    return f"{prefix}{title}: {len(alerts)} 条告警"


def lines(alerts: Sequence[Mapping[str, Any]], zone: ZoneInfo) -> list[str]:
    """A line per alert: level, kind, vehicle (or institution and meter), unit (by name), local time, detail, id."""
    return [
        f"[{_LEVEL.get(a['level'], a['level'])}] {ALERT_KIND.get(a['kind'], a['kind'])} ({a['kind']}) "
        f"{_subject_words(a)} unit {_unit(a)} at {_local(a['time'], zone)}: "
        f"{told(_LANGUAGE, a['kind'], a.get('params'), a['detail'], a.get('area_names'))} (alert {a['id']})"
        for a in alerts
    ]


def _unit(alert: Mapping[str, Any]) -> str:
    """The alert's unit by its name and id (by its id when its name is not known)."""
    name = alert.get("organisation_name")
    return f"{name} ({alert['organisation_id']})" if name else str(alert["organisation_id"])


def _who(alert: Mapping[str, Any]) -> str:
    """The vehicle, or the institution by name (and meter) an energy event is about."""
    if alert.get("vehicle_id") is not None:
        return str(alert["vehicle_id"])
    name = alert.get("institution_name") or alert.get("institution_id")
    return f"{name} {alert['meter_id']}" if alert.get("meter_id") else str(name)


def _subject_words(alert: Mapping[str, Any]) -> str:
    if alert.get("vehicle_id") is not None:
        return f"vehicle {alert['vehicle_id']}"
    words = f"institution {alert.get('institution_name') or ''} ({alert.get('institution_id')})"
    if alert.get("meter_id"):
        energy = alert.get("energy_type")
        words += f" {ENERGY_TYPE.get(energy, energy) if energy else ''} meter {alert['meter_id']}"
    return words


def text(alerts: Sequence[Mapping[str, Any]], zone: ZoneInfo, *, escalation: bool) -> str:
    """The plain text of an e-mail."""
    head = "以下告警超过时限仍未确认，已升级。\n\n" if escalation else ""
    return head + "\n".join(lines(alerts, zone)) + "\n"


def wecom(alerts: Sequence[Mapping[str, Any]], zone: ZoneInfo, *, escalation: bool) -> dict[str, Any]:
    """A 企业微信 group robot's markdown message."""
    body = "\n".join(f"> {line}" for line in lines(alerts, zone))
    content = f"**{subject(alerts, escalation=escalation)}**\n{body}"
    while len(content.encode()) > _WECOM_MAX_BYTES:  # the robot refuses a longer one: cut whole characters
        content = content[: len(content) * 9 // 10]
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk(alerts: Sequence[Mapping[str, Any]], zone: ZoneInfo, *, escalation: bool) -> dict[str, Any]:
    """A 钉钉 group robot's markdown message."""
    title = subject(alerts, escalation=escalation)
    body = "\n".join(f"- {line}" for line in lines(alerts, zone))
    return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{body}"}}


def dingtalk_url(url: str, secret: str | None, now: datetime) -> str:
    """The robot's URL, signed (加签) when it has a secret."""
    if not secret:
        return url
    timestamp = str(round(now.timestamp() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
