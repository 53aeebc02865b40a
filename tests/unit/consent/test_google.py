"""Google ID-token verification with an in-memory JWKS (httpx.MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from jwt.algorithms import RSAAlgorithm

from storyhub.accounts.google import REFETCH_SECONDS, GoogleVerifier
from storyhub.lib.errors import Unauthenticated, Unavailable
from storyhub.settings import GoogleSettings
from tests.support.jwks import id_token, new_rsa_key

CLIENT = "client-1"
KEY_A, KEY_B = new_rsa_key(), new_rsa_key()


def _jwk(key: Any, kid: str) -> dict[str, Any]:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid}


class Jwks:
    """A JWKS endpoint whose keys the test changes; counts fetches."""

    def __init__(self, keys: list[dict[str, Any]], status: int = 200) -> None:
        self.keys = keys
        self.status = status
        self.fetches = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.status != 200:
            return httpx.Response(self.status)
        return httpx.Response(
            200, json={"keys": self.keys}, headers={"Cache-Control": "max-age=600"}
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(jwks: Jwks, clock: Clock) -> GoogleVerifier:
    return GoogleVerifier(
        GoogleSettings(client_id=CLIENT, jwks_url="https://jwks.test/certs"),
        http=httpx.AsyncClient(transport=httpx.MockTransport(jwks)),
        monotonic=clock,
    )


async def test_keys_are_cached_for_max_age() -> None:
    jwks, clock = Jwks([_jwk(KEY_A, "a")]), Clock()
    verifier = _verifier(jwks, clock)
    token = id_token(KEY_A, kid="a", aud=CLIENT, sub="s1", email="x@gmail.test")
    for _ in range(3):
        identity = await verifier.verify(token)
    assert (identity.subject, identity.email, identity.email_verified) == (
        "s1",
        "x@gmail.test",
        True,
    )
    assert identity.key == "https://accounts.google.com|s1"
    assert jwks.fetches == 1
    clock.now += 601
    await verifier.verify(token)
    assert jwks.fetches == 2


async def test_rotation_is_picked_up_but_unknown_kids_cannot_hammer_the_endpoint() -> None:
    jwks, clock = Jwks([_jwk(KEY_A, "a")]), Clock()
    verifier = _verifier(jwks, clock)
    await verifier.verify(id_token(KEY_A, kid="a", aud=CLIENT, sub="s"))
    clock.now += REFETCH_SECONDS
    jwks.keys = [_jwk(KEY_A, "a"), _jwk(KEY_B, "b")]  # Google publishes a new key
    assert (await verifier.verify(id_token(KEY_B, kid="b", aud=CLIENT, sub="s"))).subject == "s"
    assert jwks.fetches == 2
    for _ in range(5):
        with pytest.raises(Unauthenticated) as refused:
            await verifier.verify(id_token(KEY_B, kid="forged", aud=CLIENT, sub="s"))
        assert refused.value.extra["reason"] == "unknownKey"
    assert jwks.fetches == 2  # within REFETCH_SECONDS of the last fetch: no new fetch


async def test_an_unreachable_jwks_is_a_503_not_a_401() -> None:
    verifier = _verifier(Jwks([], status=500), Clock())
    with pytest.raises(Unavailable) as failed:
        await verifier.verify(id_token(KEY_A, kid="a", aud=CLIENT, sub="s"))
    assert failed.value.code == "googleKeysUnavailable"


@pytest.mark.parametrize(
    ("reason", "kwargs"),
    [
        ("wrongAudience", {"aud": "other"}),
        ("wrongIssuer", {"iss": "https://accounts.google.com.evil"}),
        ("expired", {"expires_in": -120}),
    ],
)
async def test_claims_are_checked(reason: str, kwargs: dict[str, Any]) -> None:
    verifier = _verifier(Jwks([_jwk(KEY_A, "a")]), Clock())
    claims: dict[str, Any] = {"kid": "a", "aud": CLIENT, "sub": "s", **kwargs}
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(id_token(KEY_A, **claims))
    assert refused.value.code == "invalidGoogleToken"
    assert refused.value.extra["reason"] == reason


async def test_tampered_payload_fails_the_signature() -> None:
    verifier = _verifier(Jwks([_jwk(KEY_A, "a")]), Clock())
    header, payload, signature = id_token(KEY_A, kid="a", aud=CLIENT, sub="s").split(".")
    other_payload = id_token(KEY_A, kid="a", aud=CLIENT, sub="admin").split(".")[1]
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(f"{header}.{other_payload}.{signature}")
    assert refused.value.extra["reason"] == "badSignature"
    del payload
