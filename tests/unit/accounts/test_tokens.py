"""Access tokens: only what we issued, unchanged, for us, in time, is accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from storyhub.accounts.tokens import TokenService
from storyhub.lib.errors import Unauthenticated

SECRET = "unit-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
ISSUER = "storyhub"
AUDIENCE = "storyhub-api"


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(SECRET, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "epoch": 0,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256(claims: dict[str, Any], key: bytes, alg: str = "HS256") -> str:
    """Sign by hand, so keys PyJWT would refuse (a PEM public key) can be used."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    signature = hmac.new(key, f"{header}.{payload}".encode(), digest).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _rejected(tokens: TokenService, token: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        tokens.verify(token)
    assert caught.value.status == 401
    assert caught.value.code == "invalidToken"


class TestGenuineTokens:
    """The control: what we issue verifies."""

    def test_issued_token_verifies(self, tokens: TokenService) -> None:
        user = uuid.uuid4()
        claims = tokens.verify(tokens.issue(user, epoch=3))
        assert claims.sub == user
        assert claims.epoch == 3
        assert claims.exp - claims.iat == 900

    def test_hand_signed_valid_token_verifies(self, tokens: TokenService) -> None:
        # Proves the forgery tests below fail for the reason they name.
        assert tokens.verify(_hs256(_claims(), SECRET.encode())).epoch == 0

    def test_ttl_above_fifteen_minutes_is_refused(self) -> None:
        with pytest.raises(ValueError, match="15 minutes"):
            TokenService(SECRET, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=901)


class TestForgeries:
    """Every forgery is a 401 ``invalidToken``."""

    def test_alg_none(self, tokens: TokenService) -> None:
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(_claims()).encode())
        _rejected(tokens, f"{header}.{payload}.")

    def test_alg_none_from_pyjwt(self, tokens: TokenService) -> None:
        _rejected(tokens, jwt.encode(_claims(), None, algorithm="none"))

    def test_rs256_signed_with_an_attackers_key(self, tokens: TokenService) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _rejected(tokens, jwt.encode(_claims(), private, algorithm="RS256"))

    def test_hs256_signed_with_a_public_key_as_secret(self, tokens: TokenService) -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _rejected(tokens, _hs256(_claims(), pem))

    def test_other_hmac_algorithm_with_our_secret(self, tokens: TokenService) -> None:
        _rejected(tokens, _hs256(_claims(), SECRET.encode(), alg="HS512"))

    def test_wrong_secret(self, tokens: TokenService) -> None:
        _rejected(tokens, _hs256(_claims(), b"another-secret-of-sufficient-length-0123456789"))

    def test_wrong_audience(self, tokens: TokenService) -> None:
        _rejected(tokens, _hs256(_claims(aud="some-other-api"), SECRET.encode()))

    def test_wrong_issuer(self, tokens: TokenService) -> None:
        _rejected(tokens, _hs256(_claims(iss="evil"), SECRET.encode()))

    @pytest.mark.parametrize("typ", ["refresh", "ticket", "ACCESS", ""])
    def test_wrong_type(self, tokens: TokenService, typ: str) -> None:
        _rejected(tokens, _hs256(_claims(typ=typ), SECRET.encode()))

    def test_expired(self, tokens: TokenService) -> None:
        now = int(time.time())
        expired = _claims(iat=now - 1000, nbf=now - 1000, exp=now - 60)
        _rejected(tokens, _hs256(expired, SECRET.encode()))

    def test_not_yet_valid(self, tokens: TokenService) -> None:
        later = int(time.time()) + 3600
        _rejected(tokens, _hs256(_claims(iat=later, nbf=later, exp=later + 600), SECRET.encode()))

    def test_tampered_payload(self, tokens: TokenService) -> None:
        header, _, signature = tokens.issue(uuid.uuid4(), epoch=0).split(".")
        forged_payload = _b64(json.dumps(_claims(epoch=99)).encode())
        _rejected(tokens, f"{header}.{forged_payload}.{signature}")

    def test_tampered_signature(self, tokens: TokenService) -> None:
        token = tokens.issue(uuid.uuid4(), epoch=0)
        head, payload, signature = token.split(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        _rejected(tokens, f"{head}.{payload}.{flipped}")

    @pytest.mark.parametrize("missing", ["sub", "iss", "aud", "typ", "iat", "exp", "jti", "epoch"])
    def test_missing_claim(self, tokens: TokenService, missing: str) -> None:
        _rejected(tokens, _hs256(_claims(**{missing: None}), SECRET.encode()))

    def test_subject_that_is_not_a_uuid(self, tokens: TokenService) -> None:
        _rejected(tokens, _hs256(_claims(sub="admin"), SECRET.encode()))

    @pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "....", "Bearer x"])
    def test_garbage(self, tokens: TokenService, garbage: str) -> None:
        _rejected(tokens, garbage)
