"""Verify Google ID tokens against Google's published keys (JWKS).

A token is accepted only when all of these hold: it is an RS256 JWT whose
``kid`` names a key in the configured JWKS; the signature verifies with that
key; ``aud`` is our client id; ``iss`` is ``https://accounts.google.com`` or
``accounts.google.com``; ``exp`` is in the future (``iat`` present, a minute of
leeway for clock skew); ``sub`` is present. Accounts are keyed by issuer and
subject, never by the email in the token.

Keys are fetched with httpx and cached for the JWKS response's
``Cache-Control: max-age`` (an hour when absent). An unknown ``kid`` triggers
one refetch (Google rotates keys), at most once per :data:`REFETCH_SECONDS`,
so forged ``kid`` values cannot make us hammer the JWKS endpoint.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import msgspec
from jwt.algorithms import RSAAlgorithm

from storyhub.lib.errors import Unauthenticated, Unavailable
from storyhub.settings import GoogleSettings

ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
DEFAULT_CACHE_SECONDS = 3600.0
REFETCH_SECONDS = 30.0
LEEWAY_SECONDS = 60
MAX_TOKEN_LENGTH = 8192
_MAX_AGE = re.compile(r"max-age=(\d+)")


class GoogleIdentity(msgspec.Struct, frozen=True):
    """Who a verified token says the person is."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool

    @property
    def key(self) -> str:
        """Issuer and subject: what an account is linked by."""
        # Both issuer spellings name the same Google accounts.
        return f"https://accounts.google.com|{self.subject}"


def rejected(reason: str, message: str) -> Unauthenticated:
    """A 401 ``invalidGoogleToken`` with a machine-readable ``reason``."""
    return Unauthenticated(message, code="invalidGoogleToken", reason=reason)


class GoogleVerifier:
    """Verifies ID tokens for one client id; one instance per app (it caches keys)."""

    def __init__(
        self,
        settings: GoogleSettings,
        *,
        http: httpx.AsyncClient | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._http = http
        self._owns_http = http is None
        self._monotonic = monotonic
        self._keys: dict[str, Any] = {}
        self._expires = 0.0
        self._last_fetch = -REFETCH_SECONDS
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
        self._http = None

    async def _fetch(self) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=5.0)
        self._last_fetch = self._monotonic()
        try:
            response = await self._http.get(self._settings.jwks_url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise Unavailable(
                "Google's signing keys cannot be fetched right now; try again.",
                code="googleKeysUnavailable",
            ) from exc
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []) if isinstance(document, dict) else []:
            kid = jwk.get("kid") if isinstance(jwk, dict) else None
            if not isinstance(kid, str) or jwk.get("kty") != "RSA":
                continue
            try:
                keys[kid] = RSAAlgorithm.from_jwk(jwk)
            except (jwt.InvalidKeyError, ValueError, KeyError, TypeError):
                continue  # one malformed key must not hide the others
        max_age = _MAX_AGE.search(response.headers.get("cache-control", ""))
        ttl = float(max_age.group(1)) if max_age else DEFAULT_CACHE_SECONDS
        self._keys = keys
        self._expires = self._monotonic() + ttl

    async def _key(self, kid: str) -> Any:
        async with self._lock:
            if self._monotonic() >= self._expires:
                await self._fetch()
            key = self._keys.get(kid)
            if key is None and self._monotonic() - self._last_fetch >= REFETCH_SECONDS:
                await self._fetch()
                key = self._keys.get(kid)
        if key is None:
            raise rejected("unknownKey", "The Google token is signed with an unknown key.")
        return key

    async def verify(self, token: str) -> GoogleIdentity:
        """The identity in ``token``, or a 401 ``invalidGoogleToken`` saying why not."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise rejected("malformed", "The Google token is not a JWT.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise rejected("malformed", "The Google token is not a JWT.") from None
        if header.get("alg") != "RS256":
            raise rejected("algorithm", "The Google token must be signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise rejected("unknownKey", "The Google token names no signing key.")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self._settings.client_id,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub", "aud"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise rejected("expired", "The Google token has expired.") from None
        except jwt.InvalidAudienceError:
            raise rejected("wrongAudience", "The Google token is for another app.") from None
        except jwt.InvalidSignatureError:
            raise rejected("badSignature", "The Google token's signature is wrong.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise rejected("malformed", f"The Google token has no {exc.claim!r} claim.") from None
        except jwt.PyJWTError:
            raise rejected("malformed", "The Google token is not valid.") from None
        if claims.get("iss") not in ISSUERS:
            raise rejected("wrongIssuer", "The Google token was not issued by Google.")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise rejected("malformed", "The Google token has no usable subject.")
        email = claims.get("email")
        return GoogleIdentity(
            issuer=str(claims["iss"]),
            subject=subject,
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
        )
