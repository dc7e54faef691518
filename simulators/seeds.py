"""Reproducible random streams derived from one seed and a few names, identical in every process."""

from __future__ import annotations

import hashlib
import random

_MASK = (1 << 64) - 1
_TWO_64 = float(1 << 64)


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def key(*parts: int | str) -> int:
    """A 64-bit key for the parts, e.g. `key(seed, "meter", 17)`.

    Strings go through BLAKE2b rather than `hash()`, which Python salts per process.
    """
    h = 0
    for part in parts:
        number = (
            int.from_bytes(hashlib.blake2b(part.encode(), digest_size=8).digest(), "little")
            if isinstance(part, str)
            else part
        )
        h = _splitmix(h ^ (number & _MASK))
    return h


def bits(base: int, index: int) -> int:
    """64 random bits for the index of a keyed sequence (see `unit`)."""
    return _splitmix(base ^ _splitmix(index & _MASK))


def unit(base: int, index: int) -> float:
    """A uniform number in [0, 1) for the index of a keyed sequence, in O(1) for any index.

    Used where a value must depend on (seed, thing, time) only, not on what was drawn before.
    """
    return _splitmix(base ^ _splitmix(index & _MASK)) / _TWO_64


def stream(*parts: int | str) -> random.Random:
    """An independent `random.Random` for the parts."""
    return random.Random(key(*parts))
