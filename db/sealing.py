"""Secrets the database keeps encrypted: a reader of the table or of a dump learns nothing of them (notification
robots' webhook URLs, whose key or token lets anyone post to the group, and 钉钉's signing secrets).

Fernet (cryptography's: AES-128-CBC and HMAC-SHA256, with the time it was made) under the keys of YIWANG_SECRET_KEY,
newest first: the first encrypts, each decrypts, so that keys can be rotated (docs/notifications.md). A sealed value
is stored as `fernet:<token>`; a value without the prefix was stored before sealing began: it is read as it is and
sealed by `reseal` (the API does it at each start).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX: Final = "fernet:"


class Unsealable(Exception):
    """A secret that cannot be sealed or opened: no key, or not one of the keys that sealed it."""


class Sealer:
    """Seals and opens secrets with the given keys (URL-safe base64 of 32 bytes each, as Fernet.generate_key makes).

    Raises:
        ValueError: a key is not a Fernet key.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None
        except ValueError as e:
            raise ValueError(f"YIWANG_SECRET_KEY: each key is {e} (make one: docs/notifications.md)") from e

    def _keyed(self) -> MultiFernet:
        if self._fernet is None:
            raise Unsealable("no YIWANG_SECRET_KEY (nor YIWANG_SECRET_KEY_FILE): secrets cannot be sealed or opened")
        return self._fernet

    def seal(self, plain: str) -> str:
        """The value as stored."""
        return PREFIX + self._keyed().encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The value a stored one seals (one stored before sealing began: itself).

        Raises:
            Unsealable: no key, or none of the keys sealed it.
        """
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._keyed().decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as e:
            raise Unsealable("sealed with a key that is not among YIWANG_SECRET_KEY's") from e

    def reseal(self, stored: str) -> str:
        """The value sealed with the newest key: a plain one sealed, one sealed with an older key sealed again.

        Raises:
            Unsealable: no key, or none of the keys sealed it.
        """
        if not stored.startswith(PREFIX):
            return self.seal(stored)
        try:
            return PREFIX + self._keyed().rotate(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as e:
            raise Unsealable("sealed with a key that is not among YIWANG_SECRET_KEY's") from e


def new_key() -> str:
    """A new random key."""
    return Fernet.generate_key().decode()


def sealed(stored: str | None) -> bool:
    """Whether a stored value is sealed."""
    return stored is not None and stored.startswith(PREFIX)
