"""Accounts over real HTTP against a running server, in both modes."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import TEST_SECRET
from tests.support.server import ServerProcess

PASSWORD = "correct horse battery staple"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as http:
        yield http


def _email() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}@Example.test"


def _registration(email: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": email,
        "password": PASSWORD,
        "displayName": "Ada",
        "birthDate": "1990-05-17",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def _register(client: httpx.Client, email: str, **overrides: Any) -> dict[str, Any]:
    response = client.post("/auth/register", json=_registration(email, **overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _login(client: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TestHappyPath:
    """Register, log in, see yourself."""

    def test_register_login_and_get_me(self, client: httpx.Client) -> None:
        email = _email()
        created = _register(client, email, country="DE")
        assert created == {
            "id": created["id"],
            "email": email.lower(),
            "displayName": "Ada",
            "ageTier": "adult",
            "status": "active",
        }
        tokens = _login(client, "  " + email.upper() + " ")
        assert tokens["tokenType"] == "Bearer"
        assert 0 < tokens["expiresIn"] <= 900
        me = client.get("/users/me", headers=_bearer(tokens["accessToken"]))
        assert me.status_code == 200, me.text
        profile = me.json()
        assert profile["id"] == created["id"]
        assert profile["email"] == email.lower()
        assert profile["role"] == "user"
        assert profile["country"] == "DE"
        assert "birthDate" not in profile
        assert "passwordHash" not in profile

    def test_update_profile(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        access = _login(client, email)["accessToken"]
        response = client.patch(
            "/users/me",
            headers=_bearer(access),
            json={"displayName": "  Ada L.  ", "preferences": {"theme": "dark", "fontSize": 3}},
        )
        assert response.status_code == 200, response.text
        assert response.json()["displayName"] == "Ada L."
        response = client.patch(
            "/users/me", headers=_bearer(access), json={"preferences": {"theme": None}}
        )
        assert response.json()["preferences"] == {"fontSize": 3}

    def test_duplicate_email_is_a_conflict_regardless_of_case(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        response = client.post("/auth/register", json=_registration(email.upper()))
        _problem(response, 409, "emailTaken")

    def test_openapi_lists_the_account_routes(self, client: httpx.Client) -> None:
        paths = client.get("/schema/openapi.json").json()["paths"]
        for path in ("/auth/register", "/auth/login", "/auth/refresh", "/auth/logout", "/users/me"):
            assert path in paths


class TestLoginSecrecy:
    """Login never tells whether an email has an account."""

    def test_unknown_email_and_wrong_password_answer_alike(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        wrong = client.post("/auth/login", json={"email": email, "password": "not the password"})
        unknown = client.post(
            "/auth/login", json={"email": "nobody-" + email, "password": "not the password"}
        )
        malformed = client.post("/auth/login", json={"email": "nonsense", "password": "whatever1"})
        bodies = [_problem(r, 401, "invalidCredentials") for r in (wrong, unknown, malformed)]
        assert bodies[0] == bodies[1] == bodies[2]


class TestForgedTokens:
    """Anything but a genuine, current access token is a 401 problem."""

    @staticmethod
    def _claims(user_id: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": user_id,
            "iss": "storyhub",
            "aud": "storyhub-api",
            "typ": "access",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "epoch": 0,
        }
        claims.update(overrides)
        return claims

    def test_forgeries_are_rejected(self, client: httpx.Client) -> None:
        email = _email()
        user_id = _register(client, email)["id"]
        claims = self._claims
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        none_token = ".".join(
            [
                _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()),
                _b64(json.dumps(claims(user_id)).encode()),
                "",
            ]
        )
        genuine_shape = jwt.encode(claims(user_id), TEST_SECRET, algorithm="HS256")
        head, payload, signature = genuine_shape.split(".")
        forgeries = {
            "alg none": none_token,
            "RS256 attacker key": jwt.encode(claims(user_id), attacker, algorithm="RS256"),
            "wrong audience": jwt.encode(claims(user_id, aud="other"), TEST_SECRET, "HS256"),
            "wrong issuer": jwt.encode(claims(user_id, iss="evil"), TEST_SECRET, "HS256"),
            "refresh typ": jwt.encode(claims(user_id, typ="refresh"), TEST_SECRET, "HS256"),
            "expired": jwt.encode(
                claims(user_id, iat=1, nbf=1, exp=int(time.time()) - 60), TEST_SECRET, "HS256"
            ),
            "tampered": f"{head}.{payload}.{signature[:-3]}AAA",
            "stale epoch": jwt.encode(claims(user_id, epoch=-1), TEST_SECRET, "HS256"),
            "unknown user": jwt.encode(claims(str(uuid.uuid4())), TEST_SECRET, "HS256"),
            "garbage": "not-a-jwt",
        }
        # The control: the same claims, correctly signed, are accepted.
        assert client.get("/users/me", headers=_bearer(genuine_shape)).status_code == 200
        for name, token in forgeries.items():
            response = client.get("/users/me", headers=_bearer(token))
            assert response.status_code == 401, name
            _problem(response, 401, "invalidToken")

    def test_missing_or_malformed_header(self, client: httpx.Client) -> None:
        _problem(client.get("/users/me"), 401)
        _problem(client.get("/users/me", headers={"Authorization": "Basic abc"}), 401)
        _problem(client.get("/users/me", headers={"Authorization": "Bearer"}), 401)


class TestRefresh:
    """Rotation, reuse detection and logout over HTTP."""

    def test_rotation_and_reuse(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        first = _login(client, email)
        second = client.post("/auth/refresh", json={"refreshToken": first["refreshToken"]})
        assert second.status_code == 200, second.text
        rotated = second.json()
        assert rotated["refreshToken"] != first["refreshToken"]
        assert client.get("/users/me", headers=_bearer(rotated["accessToken"])).status_code == 200

        reused = client.post("/auth/refresh", json={"refreshToken": first["refreshToken"]})
        _problem(reused, 401, "refreshTokenReused")
        successor = client.post("/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
        _problem(successor, 401, "refreshTokenRevoked")

    def test_logout_revokes_the_family(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        tokens = _login(client, email)
        response = client.post("/auth/logout", json={"refreshToken": tokens["refreshToken"]})
        assert response.status_code == 204
        assert response.content == b""
        again = client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        _problem(again, 401, "refreshTokenRevoked")
        # Logging out twice is harmless.
        again = client.post("/auth/logout", json={"refreshToken": tokens["refreshToken"]})
        assert again.status_code == 204

    def test_unknown_refresh_token(self, client: httpx.Client) -> None:
        response = client.post("/auth/refresh", json={"refreshToken": "shr_made-up"})
        _problem(response, 401, "invalidRefreshToken")

    def test_password_change_signs_everything_out(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        phone = _login(client, email)
        laptop = _login(client, email)
        wrong = client.post(
            "/users/me/password",
            headers=_bearer(phone["accessToken"]),
            json={"currentPassword": "not it at all", "newPassword": "a new passphrase"},
        )
        _problem(wrong, 403, "wrongPassword")
        changed = client.post(
            "/users/me/password",
            headers=_bearer(phone["accessToken"]),
            json={"currentPassword": PASSWORD, "newPassword": "a new passphrase"},
        )
        assert changed.status_code == 200, changed.text
        fresh = changed.json()
        for old in (phone, laptop):
            _problem(client.get("/users/me", headers=_bearer(old["accessToken"])), 401)
            _problem(client.post("/auth/refresh", json={"refreshToken": old["refreshToken"]}), 401)
        assert client.get("/users/me", headers=_bearer(fresh["accessToken"])).status_code == 200
        _problem(client.post("/auth/login", json={"email": email, "password": PASSWORD}), 401)
        _login(client, email, "a new passphrase")


class TestChildren:
    """A child below the consent age waits for a parent."""

    def test_child_is_pending_consent_and_guarded(self, client: httpx.Client) -> None:
        email = _email()
        eight_years_ago = date.today().replace(year=date.today().year - 8, day=1)
        created = _register(
            client,
            email,
            birthDate=eight_years_ago.isoformat(),
            country="US",
            parentEmail="parent-" + email,
        )
        assert created["ageTier"] == "child"
        assert created["status"] == "pendingConsent"
        access = _login(client, email)["accessToken"]
        me = client.get("/users/me", headers=_bearer(access))
        assert me.status_code == 200
        assert me.json()["status"] == "pendingConsent"
        response = client.patch("/users/me", headers=_bearer(access), json={"displayName": "X"})
        _problem(response, 403, "consentRequired")

    def test_teen_consent_depends_on_country(self, client: httpx.Client) -> None:
        fourteen = date.today().replace(year=date.today().year - 14, day=1)
        spain = _register(client, _email(), birthDate=fourteen.isoformat(), country="ES")
        germany = _register(
            client,
            _email(),
            birthDate=fourteen.isoformat(),
            country="DE",
            parentEmail="parent@example.test",
        )
        assert (spain["ageTier"], spain["status"]) == ("teen", "active")
        assert (germany["ageTier"], germany["status"]) == ("teen", "pendingConsent")


def _future() -> str:
    return (date.today() + timedelta(days=1)).isoformat()


BAD_REGISTRATIONS: dict[str, tuple[Any, int, str]] = {
    "missing password": ({"password": None}, 400, "invalidInput"),
    "missing birth date": ({"birthDate": None}, 400, "invalidInput"),
    "unknown field": ({"isAdmin": True}, 400, "invalidInput"),
    "password wrong type": ({"password": 12345678}, 400, "invalidInput"),
    "birth date wrong type": ({"birthDate": 19900101}, 400, "invalidInput"),
    "birth date not a date": ({"birthDate": "1990-02-30"}, 400, "invalidInput"),
    "password too short": ({"password": "short"}, 400, "passwordTooShort"),
    "password too long": ({"password": "x" * 129}, 400, "passwordTooLong"),
    "invalid email": ({"email": "not-an-email"}, 400, "invalidEmail"),
    "future birth date": ({"birthDate": _future()}, 400, "invalidBirthDate"),
    "absurd birth date": ({"birthDate": "1850-01-01"}, 400, "invalidBirthDate"),
    "empty display name": ({"displayName": "   "}, 400, "invalidDisplayName"),
    "bad country": ({"country": "Germany"}, 400, "invalidCountry"),
}


class TestBadInput:
    """Bad input is a 4xx problem with a code and writes nothing."""

    @pytest.mark.parametrize("case", sorted(BAD_REGISTRATIONS))
    def test_bad_registration_writes_nothing(self, client: httpx.Client, case: str) -> None:
        overrides, status, code = BAD_REGISTRATIONS[case]
        email = _email()
        body = {**_registration(email), **overrides}
        body = {k: v for k, v in body.items() if v is not None}
        _problem(client.post("/auth/register", json=body), status, code)
        _register(client, email)

    def test_sixty_four_character_passwords_are_fine(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email, password="p" * 64)
        _login(client, email, "p" * 64)

    def test_malformed_json(self, client: httpx.Client) -> None:
        email = _email()
        response = client.post(
            "/auth/register",
            content=b'{"email": "' + email.encode() + b'", "password": ',
            headers={"Content-Type": "application/json"},
        )
        _problem(response, 400)
        _register(client, email)

    def test_body_that_is_not_an_object(self, client: httpx.Client) -> None:
        _problem(client.post("/auth/login", json=["a", "b"]), 400, "invalidInput")
        _problem(client.post("/auth/login", json=None), 400)

    def test_oversized_body(self, client: httpx.Client) -> None:
        email = _email()
        body = _registration(email, displayName="x" * (1024 * 1024 + 10))
        _problem(client.post("/auth/register", json=body), 413, "payloadTooLarge")
        _register(client, email)

    def test_bad_profile_update_writes_nothing(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        access = _login(client, email)["accessToken"]
        for body, code in (
            ({"displayName": "x" * 81}, "invalidDisplayName"),
            ({"displayName": "Bob", "role": "admin"}, "invalidInput"),
            ({"preferences": "dark"}, "invalidInput"),
            ({"preferences": {"blob": "x" * 9000}}, "preferencesTooLarge"),
        ):
            _problem(client.patch("/users/me", headers=_bearer(access), json=body), 400, code)
        me = client.get("/users/me", headers=_bearer(access)).json()
        assert (me["displayName"], me["preferences"], me["role"]) == ("Ada", {}, "user")

    def test_bad_password_change_keeps_the_old_password(self, client: httpx.Client) -> None:
        email = _email()
        _register(client, email)
        access = _login(client, email)["accessToken"]
        response = client.post(
            "/users/me/password",
            headers=_bearer(access),
            json={"currentPassword": PASSWORD, "newPassword": "short"},
        )
        _problem(response, 400, "passwordTooShort")
        assert client.get("/users/me", headers=_bearer(access)).status_code == 200
        _login(client, email)


class TestNoSecretsInTheLog:
    """Passwords and tokens never reach the server log."""

    def test_log_holds_no_password_or_token(
        self, client: httpx.Client, server: ServerProcess
    ) -> None:
        email = _email()
        secret_password = f"pw-{uuid.uuid4().hex}"
        _register(client, email, password=secret_password)
        client.post("/auth/login", json={"email": email, "password": secret_password + "x"})
        tokens = _login(client, email, secret_password)
        rotated = client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        client.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        client.post("/auth/logout", json={"refreshToken": rotated.json()["refreshToken"]})
        client.get("/users/me", headers=_bearer(tokens["accessToken"]))
        time.sleep(0.3)  # let the server flush its last lines
        log = server.log_path.read_text(errors="replace")
        assert "/auth/login" in log  # the access log is there, and...
        assert "sessions revoked" in log  # logout's event reached its listener
        for secret in (
            secret_password,
            tokens["refreshToken"],
            tokens["accessToken"],
            rotated.json()["refreshToken"],
            rotated.json()["accessToken"],
        ):
            assert secret not in log
