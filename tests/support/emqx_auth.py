"""EMQX's PostgreSQL authenticator and authorizer, as EMQX 5 runs them, over broker/emqx/emqx.conf's queries.

No Docker engine here, so no EMQX: these are its steps, read in its source (emqx/emqx, apps/emqx_auth and
apps/emqx_auth_postgresql), applied to the real database, so that the tests run the configured queries exactly:
- a query's `${var}` placeholders become bound parameters, one per occurrence in order (emqx_template_sql
  parse_prepstmt, `$1, $2, ...`); a variable the client did not give is bound as '' (emqx_auth_template render_var);
- authentication takes the first row; no row is `ignore`, and a chain whose every authenticator ignores refuses
  (emqx_authn_chains do_authenticate); the row's `password_hash` must equal the lower-case hex of
  PBKDF2(mac_fun, password, salt, iterations, dk_length), `salt` taken as the column's bytes (emqx_passwd);
- authorization walks the rows in order, the first whose action and topic filter match decides (emqx_authz_rule);
  none: `authorization.no_match`. A subscription is checked on its filter without `$share/<group>/`
  (emqx_channel do_check_sub_authzs2); a topic filter matches by levels, `+` one, `#` the rest, and a `$` topic
  only by name (emqx_topic match).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psycopg

CONF = Path(__file__).resolve().parents[2] / "broker" / "emqx" / "emqx.conf"

Action = Literal["publish", "subscribe"]
_PLACEHOLDER = re.compile(r"\$\{([a-z_.]+)\}")
_QUERY = re.compile(r'^\s*query = "(?P<query>[^"]*)"', re.MULTILINE)


@dataclass(frozen=True)
class Pbkdf2:
    mac_fun: str
    iterations: int
    dk_length: int


@dataclass(frozen=True)
class Conf:
    """What the tests need of the configuration file: the three queries and the rules around them."""

    devices_query: str  # the devices' listener's own authenticator
    services_query: str  # the global chain: the services' listener
    acl_query: str
    hashing: Pbkdf2
    no_match: str
    sources: int  # how many authorization sources


def _after(text: str, marker: str) -> str:
    """The first query after `marker` (a line of the file)."""
    start = text.index(marker)
    found = _QUERY.search(text, start)
    assert found is not None, f"no query after {marker!r}"
    return found["query"]


def read_conf(path: Path = CONF) -> Conf:
    """The queries as the file writes them (HOCON strings without escapes), found by the block that holds each."""
    text = path.read_text(encoding="utf-8")
    hashing = {
        key: re.findall(rf"^\s*{key} = (\S+)$", text, re.MULTILINE) for key in ("mac_fun", "iterations", "dk_length")
    }
    # Both authenticators must hash alike: one secret per account, checked the same way at either listener.
    assert all(len(set(values)) == 1 and len(values) == 2 for values in hashing.values()), hashing
    no_match = re.findall(r"^\s*no_match = (\S+)$", text, re.MULTILINE)
    return Conf(
        devices_query=_after(text, "  ssl.default {"),
        services_query=_after(text, "\nauthentication = ["),
        acl_query=_after(text, "\nauthorization {"),
        hashing=Pbkdf2(hashing["mac_fun"][0], int(hashing["iterations"][0]), int(hashing["dk_length"][0])),
        no_match=no_match[0] if len(no_match) == 1 else "",
        sources=len(re.findall(r"^\s*type = ", text[text.index("\nauthorization {") :], re.MULTILINE)),
    )


def bind(query: str, client: dict[str, str]) -> tuple[str, list[str]]:
    """The statement EMQX prepares and the values it binds: each `${var}` a parameter of its own."""
    names = _PLACEHOLDER.findall(query)
    statement = _PLACEHOLDER.sub("%s", query.replace("%", "%%"))
    return statement, [client.get(name, "") for name in names]


def _rows(conn: psycopg.Connection, query: str, client: dict[str, str]) -> list[dict[str, object]]:
    statement, values = bind(query, client)
    cur = conn.execute(statement, values, prepare=True)
    names = [column.name for column in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def authenticate(
    conn: psycopg.Connection, conf: Conf, query: str, *, username: str, clientid: str, password: str
) -> bool:
    """Whether a chain of this one authenticator lets the client in."""
    rows = _rows(conn, query, {"username": username, "clientid": clientid, "password": password})
    if not rows:
        return False  # ignore, and nothing after it in the chain: not_authorized
    row = rows[0]
    stored = row.get("password_hash")
    if not isinstance(stored, str):
        return False
    column = row.get("salt")
    # bytea comes as bytes, text as str: EMQX hashes with the bytes it is given (a text column's UTF-8).
    salt = column.encode() if isinstance(column, str) else bytes(column) if isinstance(column, bytes) else b""
    h = conf.hashing
    derived = hashlib.pbkdf2_hmac(h.mac_fun, password.encode(), salt, h.iterations, h.dk_length).hex()
    return hmac.compare_digest(derived, stored)


def _words(topic: str) -> list[str]:
    return topic.split("/")


def topic_matches(name: str, topic_filter: str) -> bool:
    """emqx_topic:match/2 on levels; `name` may itself be a filter (a subscription), as EMQX allows."""
    words, pattern = _words(name), _words(topic_filter)
    if words and words[0].startswith("$") and pattern and pattern[0] in {"+", "#"}:
        return False
    for i, level in enumerate(pattern):
        if level == "#":
            return True
        if i >= len(words) or (level != "+" and level != words[i]):
            return False
    return len(words) == len(pattern)


def real_topic(topic: str) -> str:
    """A `$share/<group>/<filter>` subscription is authorised on `<filter>`."""
    if topic.startswith("$share/"):
        return topic.split("/", 2)[2]
    return topic


def authorize(
    conn: psycopg.Connection, conf: Conf, *, username: str, clientid: str, action: Action, topic: str
) -> bool:
    """Whether EMQX lets this client publish to, or subscribe to, `topic`."""
    checked = real_topic(topic) if action == "subscribe" else topic
    for row in _rows(conn, conf.acl_query, {"username": username, "clientid": clientid}):
        if row["action"] in (action, "all") and topic_matches(checked, str(row["topic"])):
            return row["permission"] == "allow"
    return conf.no_match == "allow"


def grants(conn: psycopg.Connection, conf: Conf, username: str) -> set[tuple[str, str]]:
    """(action, topic) of each `allow` row the authorizer's query gives this user."""
    rows = _rows(conn, conf.acl_query, {"username": username, "clientid": username})
    return {(str(row["action"]), str(row["topic"])) for row in rows if row["permission"] == "allow"}
