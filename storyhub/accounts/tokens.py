"""Access tokens: short-lived JWTs with one pinned algorithm and strict claims.

HS256 is pinned on both ends: a token naming any other algorithm (``none``,
RS256 with our secret as a "public key", ...) is rejected before its
signature is looked at.
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from uuid import UUID

import jwt
import msgspec

from storyhub.lib.errors import Unauthenticated

ALGORITHM = "HS256"
ACCESS_TYPE = "access"


class AccessClaims(msgspec.Struct, frozen=True):
    """What a verified access token says."""

    sub: UUID
    epoch: int
    """The user's ``auth_epoch`` at issue; a later epoch revokes the token."""
    exp: int
    iat: int
    jti: str


class TokenService:
    """Issue and verify access tokens for one issuer, audience and key."""

    def __init__(self, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        if ttl_seconds > 900:
            raise ValueError("access tokens live at most 15 minutes")
        self._key = secret
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: UUID, epoch: int, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "iss": self._issuer,
            "aud": self._audience,
            "typ": ACCESS_TYPE,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "epoch": epoch,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": "JWT"})

    def verify(self, token: str) -> AccessClaims:
        """Return the claims of a valid access token or raise :class:`Unauthenticated`."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM:
                raise jwt.InvalidAlgorithmError("algorithm not allowed")
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "typ", "jti"]},
                leeway=5,
            )
            if claims.get("typ") != ACCESS_TYPE:
                raise jwt.InvalidTokenError("not an access token")
            return msgspec.convert(claims, AccessClaims, strict=False)
        except (jwt.PyJWTError, msgspec.ValidationError, ValueError) as exc:
            raise Unauthenticated(
                "The access token is missing, expired or invalid.", code="invalidToken"
            ) from exc
