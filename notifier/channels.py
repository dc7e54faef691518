"""Sending a message: e-mail through SMTP, JSON to a group robot's webhook. Every failure is `Undelivered` with
what went wrong; the caller records it and tries again later."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import httpx

from yiwang.settings import Settings


class Undelivered(Exception):
    """A message not delivered this time: the reason, for the delivery's record."""


def addresses(target: str) -> list[str]:
    """The addresses of an e-mail rule's target (comma-separated)."""
    return [a.strip() for a in target.split(",") if a.strip()]


async def send_email(settings: Settings, to: list[str], subject: str, body: str) -> None:
    """Send an e-mail through the configured SMTP server.

    Raises:
        Undelivered: no server configured, or it refused or could not be reached.
    """
    if not settings.smtp_host:
        raise Undelivered("no SMTP server: set YIWANG_SMTP_HOST")
    if not to:
        raise Undelivered("no recipient: the rule names no address and no user of its role has one")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    try:
        await asyncio.to_thread(_smtp, settings, message)
    except (smtplib.SMTPException, OSError) as e:
        raise Undelivered(f"SMTP {settings.smtp_host}:{settings.smtp_port}: {e!r}") from e


def _smtp(settings: Settings, message: EmailMessage) -> None:
    assert settings.smtp_host
    timeout = settings.notify_timeout_seconds
    context = ssl.create_default_context()
    if settings.smtp_security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with server:
        if settings.smtp_security == "starttls":
            server.starttls(context=context)
        if settings.smtp_username:
            server.login(settings.smtp_username, settings.smtp_password or "")
        server.send_message(message)


async def post_webhook(client: httpx.AsyncClient, url: str, body: Mapping[str, Any]) -> None:
    """POST a group robot's JSON; the robots answer HTTP 200 with {"errcode": 0} when they took it.

    Raises:
        Undelivered: unreachable, an HTTP error, or an errcode other than 0.
    """
    try:
        response = await client.post(url, json=dict(body))
    except httpx.HTTPError as e:
        raise Undelivered(f"POST {_without_query(url)}: {e!r}") from e
    if response.status_code != 200:
        raise Undelivered(f"POST {_without_query(url)}: HTTP {response.status_code} {response.text[:200]}")
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
        raise Undelivered(f"POST {_without_query(url)}: the robot answered {response.text[:200]}")


def _without_query(url: str) -> str:
    """A robot's URL without its key or token, for records and logs."""
    return url.split("?", 1)[0]
