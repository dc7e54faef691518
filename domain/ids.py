"""Ids of the registry: organisations, institutions, meters and vehicles.

A device's id is also its MQTT user name and a level of its topic (`<root>/meter/<id>/reading`), so it is kept to
what both allow: a letter or digit, then up to 63 letters, digits and `_ . : -` (no `/`, `+`, `#` or spaces). A meter's
or vehicle's id has no `:` either: it separates the user name from the hash in the broker's password file.
"""

from __future__ import annotations

import re
from typing import Final

ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_ID = re.compile(ID_PATTERN)
DEVICE_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)


def is_id(text: str) -> bool:
    """Whether `text` is a well-formed id."""
    return _ID.fullmatch(text) is not None


def is_device_id(text: str) -> bool:
    """Whether `text` can be a meter's or vehicle's id: also a broker user name."""
    return _DEVICE_ID.fullmatch(text) is not None
