"""Access tokens (signed JWT, HS256, short-lived) and refresh tokens (opaque, random, stored as digests)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "yiwang"
MIN_SECRET_LENGTH = 32


class TokenSecretError(RuntimeError):
    """The API has no usable secret to sign tokens with; the message says how to set one."""


class TokenError(Exception):
    """An access token that is malformed, wrongly signed, expired or incomplete; the message says which."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: str
    jti: str
    expires_at: datetime


def check_secret(secret: str | None) -> str:
    """The secret, when it is long enough to sign with.

    Raises:
        TokenSecretError: it is missing or short.
    """
    if not secret:
        raise TokenSecretError(
            "YIWANG_API_TOKEN_SECRET is not set: the API signs its access tokens with it. Set it to 32 or more "
            'random characters, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise TokenSecretError(f"YIWANG_API_TOKEN_SECRET has {len(secret)} characters; it needs {MIN_SECRET_LENGTH}+")
    return secret


class AccessTokens:
    """Issues and reads access tokens.

    Args:
        secret: the HS256 key (at least 32 characters).
        lifetime: how long an access token is good for.
    """

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._secret = check_secret(secret)
        self.lifetime = lifetime

    def issue(self, user_id: int, session_id: str, *, now: datetime | None = None) -> tuple[str, AccessClaims]:
        """A new access token of the user's session, and what it says."""
        issued = (now or datetime.now(UTC)).replace(microsecond=0)
        claims = AccessClaims(user_id, session_id, uuid.uuid4().hex, issued + self.lifetime)
        payload = {
            "iss": ISSUER,
            "sub": str(user_id),
            "sid": session_id,
            "jti": claims.jti,
            "iat": issued,
            "exp": claims.expires_at,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def read(self, token: str) -> AccessClaims:
        """What a token says, once its signature, issuer and expiry are checked.

        Raises:
            TokenError: the token is not one this API issued, or no longer good.
        """
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["iss", "sub", "sid", "jti", "iat", "exp"]},
            )
            return AccessClaims(
                int(payload["sub"]),
                str(payload["sid"]),
                str(payload["jti"]),
                datetime.fromtimestamp(payload["exp"], UTC),
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the access token has expired: get a new one from POST /auth/refresh") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("the access token's signature is not valid") from exc
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise TokenError(f"the access token is not valid: {exc}") from exc


def new_refresh_token() -> tuple[str, bytes]:
    """A fresh refresh token (256 random bits) and the digest to store for it."""
    token = secrets.token_urlsafe(32)
    return token, refresh_digest(token)


def refresh_digest(token: str) -> bytes:
    """What the database keeps of a refresh token: random tokens need no slow hash, only one that hides them."""
    return hashlib.sha256(token.encode()).digest()
