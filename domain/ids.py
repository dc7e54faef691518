"""Ids of the registry: organisations, institutions, meters and vehicles.

A device's id is also its MQTT user name and a level of its topic (`<root>/meter/<id>/reading`), so it is kept to
what both allow: a letter or digit, then up to 63 letters, digits and `_ . : -` (no `/`, `+`, `#` or spaces). A meter's
or vehicle's id has no `:` either: it separates the user name from the hash in the broker's password file. Nor
does it start with `yiwang-`, which begins every client id of the platform's services: at the broker a device's
client id is its id, and client ids are one namespace, so a device named as a service's client id would take over
that service's session.
"""

from __future__ import annotations

import re
from typing import Final

ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ID = re.compile(ID_PATTERN)
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SERVICE_CLIENT_ID_PREFIX: Final = "yiwang-"


def is_id(text: str) -> bool:
    """Whether `text` is a well-formed id."""
    return _ID.fullmatch(text) is not None


def is_user_name(text: str) -> bool:
    """Whether `text` can be a broker user name (a device's or a service account's): an id without `:`."""
    return _DEVICE_ID.fullmatch(text) is not None


def device_id_problem(text: str) -> str | None:
    """Why `text` cannot be a meter's or vehicle's id, or None."""
    if _DEVICE_ID.fullmatch(text) is None:
        return "a device id is a letter or digit, then up to 63 letters, digits and _ . - (no :)"
    if text.lower().startswith(SERVICE_CLIENT_ID_PREFIX):
        return f"a device id does not start with {SERVICE_CLIENT_ID_PREFIX!r}, the platform services' client ids"
    return None
