"""How the live map is written: JSON escaped to ASCII once, ages to the millisecond, and the fixed widths that let
the whole map be kept in one buffer and written in place (api/live/whole.py)."""

from __future__ import annotations

import re
from typing import get_args

import numpy as np
import orjson

from domain.vehicles import LiveState

# Times as pydantic writes them in the API's other answers (UTC with Z), so that all say the same.
JSON_OPTIONS = orjson.OPT_UTC_Z
_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]")
# On the whole map, a feature's age and what follows it are written at fixed widths (JSON allows the spaces that
# pad them), so that it is kept in one buffer and each request writes only these fields in place (see Whole).
# An age has ten digits of whole seconds, 317 years: beyond any fix the collector takes (none before 2000); an
# older one would show as the widest age.
AGE_DIGITS = 10
AGE_WIDTH = AGE_DIGITS + 4  # and a point and milliseconds
AGE_MAX_MS = 10 ** (AGE_DIGITS + 3) - 1
TAIL_WIDTH = len(b',"online":false,"state":""}}') + max(map(len, get_args(LiveState)))  # the longest tail
COLLECTION = b'{"type":"FeatureCollection","features":['
AGE_BLANK = b" " * AGE_WIDTH
# Coordinates on the map to 1e-6 degree, some 0.1 m: what JT/T 808 terminals send (degrees x 10^6), and as much as
# a map can show. A position as stored, with all its digits, is in the tracks. 17 digits of a float's noise saved a
# feature: 4% of the whole map, more of it gzipped (noise does not compress).
COORDINATE_DIGITS = 6
# Room a feature's slot on the whole map leaves to grow (a fix's numbers and time are not always as long).
SLOT_SPARE = 16


def ascii_json(data: bytes) -> bytes:
    """The same JSON with every character beyond ASCII written as a \\u escape (two, as UTF-16, beyond the BMP).

    What the map sends goes out as WebSocket text, which the server encodes again for every client. A plate's 赣
    makes Python's string of a whole batch one of 2-byte characters, encoded character by character for every
    client; an ASCII one is copied. So features, alerts and removed ids are escaped once, when they are encoded.
    """
    if data.isascii():
        return data
    return _BEYOND_ASCII.sub(_escaped, data.decode()).encode()


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def age(seconds: float) -> bytes:
    """An age in seconds to the millisecond, as the whole map's `ages` rounds it, but not padded: a feature sent
    on its own (a stream's change, a filtered map) has no slot to keep."""
    milliseconds = min(max(round(seconds * 1000), 0), AGE_MAX_MS)
    return b"%d.%03d" % divmod(milliseconds, 1000)


# The columns of an age's digits, right to left, skipping the point: the rest is divided by ten once per column
# (a third of the time of dividing by each power of ten).
_DIGIT_COLUMNS = (*range(AGE_WIDTH - 1, AGE_DIGITS, -1), *range(AGE_DIGITS - 1, -1, -1))
# A whole-seconds digit is a space while the age is below its power of ten; the units digit always shows.
_BLANK_BELOW = np.array([10**k if k else 0 for k in range(AGE_DIGITS - 1, -1, -1)], dtype=np.int64)
AGE_COLUMNS = np.arange(AGE_WIDTH)
TAIL_COLUMNS = np.arange(TAIL_WIDTH)


def ages(seconds: np.ndarray) -> np.ndarray:
    """Ages rounded as `age` rounds them, right-aligned in rows of AGE_WIDTH bytes (uint8)."""
    milliseconds = np.clip(np.rint(seconds * 1000), 0, AGE_MAX_MS).astype(np.int64)
    written = np.empty((len(seconds), AGE_WIDTH), dtype=np.uint8)
    rest = milliseconds
    for column in _DIGIT_COLUMNS:
        rest, written[:, column] = np.divmod(rest, 10)
    written += ord("0")
    written[:, AGE_DIGITS] = ord(".")
    written[:, :AGE_DIGITS][milliseconds[:, None] // 1000 < _BLANK_BELOW] = ord(" ")
    return written
