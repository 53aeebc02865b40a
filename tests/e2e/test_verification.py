"""Age verification over real HTTP: ID documents stored encrypted and deleted after review,
the admin command, and Google ID tokens checked against a JWKS served locally."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.cli import run_admin
from tests.support.jwks import JwksServer, id_token, new_rsa_key
from tests.support.server import ServerProcess
from tests.support.users import TestUser, create_user

CLIENT_ID = "storyhub-test.apps.googleusercontent.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"SECRET-PASSPORT-NUMBER-X1234567" + b"\x00" * 200
PDF = b"%PDF-1.7\nSECRET-PASSPORT-NUMBER-P7654321\n%%EOF\n"


@pytest.fixture(scope="module")
def signing_keys() -> dict[str, Any]:
    return {"good": new_rsa_key(), "rogue": new_rsa_key()}


@pytest.fixture(scope="module")
def jwks(signing_keys: dict[str, Any]) -> Iterator[JwksServer]:
    server = JwksServer({"k1": signing_keys["good"]})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["embedded", "services"])
def vserver(
    request: pytest.FixtureRequest, jwks: JwksServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server with Google sign-in pointed at the local JWKS, in both modes."""
    env = base_env(tmp_path_factory.mktemp(f"verify-{request.param}"))
    env["STORYHUB_GOOGLE_CLIENT_ID"] = CLIENT_ID
    env["STORYHUB_GOOGLE_JWKS_URL"] = jwks.url
    if request.param == "services":
        env["STORYHUB_DATABASE_URL"] = fresh_pg_database("verify")
        env["STORYHUB_VALKEY_URL"] = request.getfixturevalue("redis_url")
    server = ServerProcess(env, tmp_path_factory.mktemp("logs") / f"verify-{request.param}.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http(vserver: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=vserver.base_url, timeout=15) as client:
        yield client


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def _blob_files(server: ServerProcess, request_id: str) -> list[Path]:
    folder = Path(server.env["STORYHUB_DATA_DIR"]) / "blobs" / "verifications" / request_id
    return sorted(folder.glob("*")) if folder.is_dir() else []


def _open_id_request(http: httpx.Client, user: TestUser) -> str:
    created = http.post("/verifications", json={"method": "idDocument"}, headers=user.headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "awaitingDocument"
    request_id: str = created.json()["id"]
    return request_id


def _upload(
    http: httpx.Client, user: TestUser, request_id: str, content: bytes, content_type: str
) -> httpx.Response:
    return http.post(
        f"/verifications/{request_id}/document",
        files={"data": ("document", content, content_type)},
        headers=user.headers,
    )


class TestIdDocuments:
    """Uploads are encrypted at rest, shown only to moderators, deleted after the decision."""

    def test_upload_review_and_deletion(self, http: httpx.Client, vserver: ServerProcess) -> None:
        user = create_user(vserver)
        moderator = create_user(vserver, role="moderator")
        request_id = _open_id_request(http, user)
        _problem(
            http.post("/verifications", json={"method": "idDocument"}, headers=user.headers),
            409,
            "verificationOpen",
        )

        uploaded = _upload(http, user, request_id, PNG, "image/png")
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["status"] == "inReview"
        assert uploaded.json()["hasDocument"] is True
        files = _blob_files(vserver, request_id)
        assert len(files) == 1
        stored = files[0].read_bytes()
        assert b"SECRET-PASSPORT" not in stored
        assert not stored.startswith(b"\x89PNG")
        _problem(_upload(http, user, request_id, PNG, "image/png"), 409, "documentUploaded")

        # Only moderators see the queue and the document.
        _problem(http.get("/moderation/verifications", headers=user.headers), 403, "forbidden")
        queue = http.get("/moderation/verifications", headers=moderator.headers)
        assert request_id in [item["id"] for item in queue.json()["requests"]]
        document = http.get(
            f"/moderation/verifications/{request_id}/document", headers=moderator.headers
        )
        assert document.status_code == 200
        assert document.content == PNG
        assert document.headers["content-type"].startswith("image/png")
        assert document.headers["cache-control"] == "no-store"

        decided = http.post(
            f"/moderation/verifications/{request_id}/decision",
            json={"decision": "approve", "note": "matches"},
            headers=moderator.headers,
        )
        assert decided.status_code == 200, decided.text
        body = decided.json()
        assert body["status"] == "approved"
        assert body["hasDocument"] is False
        assert [entry["status"] for entry in body["history"]] == [
            "pending",
            "awaitingDocument",
            "inReview",
            "approved",
        ]
        assert body["history"][-1]["by"] == str(moderator.id)
        assert _blob_files(vserver, request_id) == []  # the document is gone
        _problem(
            http.get(f"/moderation/verifications/{request_id}/document", headers=moderator.headers),
            404,
            "documentNotFound",
        )
        _problem(
            http.post(
                f"/moderation/verifications/{request_id}/decision",
                json={"decision": "reject"},
                headers=moderator.headers,
            ),
            409,
            "notInReview",
        )
        mine = http.get(f"/verifications/{request_id}", headers=user.headers)
        assert mine.json()["status"] == "approved"

    def test_bad_uploads_are_refused_and_store_nothing(
        self, http: httpx.Client, vserver: ServerProcess
    ) -> None:
        user, other = create_user(vserver), create_user(vserver)
        request_id = _open_id_request(http, user)
        _problem(
            _upload(http, user, request_id, b"hello", "text/plain"), 415, "unsupportedDocumentType"
        )
        _problem(_upload(http, user, request_id, PDF, "image/png"), 415, "unsupportedDocumentType")
        _problem(_upload(http, user, request_id, b"", "image/png"), 400, "emptyDocument")
        too_big = b"%PDF-" + b"0" * (5 * 1024 * 1024)
        response = _upload(http, user, request_id, too_big, "application/pdf")
        assert response.status_code == 413, response.text
        _problem(
            _upload(http, other, request_id, PDF, "application/pdf"), 404, "verificationNotFound"
        )
        assert _blob_files(vserver, request_id) == []
        assert (
            http.get(f"/verifications/{request_id}", headers=user.headers).json()["status"]
            == "awaitingDocument"
        )
        # A PDF is fine.
        assert _upload(http, user, request_id, PDF, "application/pdf").status_code == 200

    def test_admin_command_lists_and_rejects(self, vserver: ServerProcess) -> None:
        user = create_user(vserver)
        with httpx.Client(base_url=vserver.base_url, timeout=15) as http:
            request_id = _open_id_request(http, user)
            assert _upload(http, user, request_id, PNG, "image/png").status_code == 200
        assert len(_blob_files(vserver, request_id)) == 1
        env = {k: v for k, v in vserver.env.items() if k.startswith("STORYHUB_")}

        def admin(*args: str) -> subprocess.CompletedProcess[str]:
            return run_admin(env, "verifications", *args)

        listed = admin("list")
        assert listed.returncode == 0, listed.stderr
        assert request_id in listed.stdout
        rejected = admin("reject", request_id, "--note", "blurry")
        assert rejected.returncode == 0, rejected.stderr
        assert "rejected" in rejected.stdout
        assert _blob_files(vserver, request_id) == []
        again = admin("approve", request_id)
        assert again.returncode == 1
        assert "notInReview" in again.stderr
        with httpx.Client(base_url=vserver.base_url, timeout=15) as http:
            body = http.get(f"/verifications/{request_id}", headers=user.headers).json()
        assert body["status"] == "rejected"
        assert body["history"][-1] == {
            "status": "rejected",
            "at": body["history"][-1]["at"],
            "by": "cli",
            "note": "blurry",
        }


class TestOtherMethods:
    def test_self_declaration_is_recorded_with_low_trust(
        self, http: httpx.Client, vserver: ServerProcess
    ) -> None:
        user = create_user(vserver)
        made = http.post("/verifications", json={"method": "selfDeclaration"}, headers=user.headers)
        assert made.status_code == 201, made.text
        assert (made.json()["status"], made.json()["trust"]) == ("recorded", "low")
        listed = http.get("/verifications", headers=user.headers).json()["requests"]
        assert [item["id"] for item in listed] == [made.json()["id"]]

    def test_parental_consent_is_for_minors_and_waits_for_the_parent(
        self, http: httpx.Client, vserver: ServerProcess
    ) -> None:
        adult = create_user(vserver)
        _problem(
            http.post("/verifications", json={"method": "parentalConsent"}, headers=adult.headers),
            400,
            "methodNotApplicable",
        )
        pending = create_user(vserver, age_tier="child", status="pendingConsent")
        made = http.post(
            "/verifications", json={"method": "parentalConsent"}, headers=pending.headers
        )
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "pending"
        _problem(
            http.post(
                "/verifications", json={"method": "selfDeclaration"}, headers=pending.headers
            ),
            403,
            "consentRequired",
        )

    def test_unknown_methods_and_fields_are_refused(
        self, http: httpx.Client, vserver: ServerProcess
    ) -> None:
        user = create_user(vserver)
        for body in ({"method": "palmReading"}, {"method": "selfDeclaration", "extra": 1}, {}):
            _problem(
                http.post("/verifications", json=body, headers=user.headers), 400, "invalidInput"
            )


class TestGoogleSignIn:
    """Tokens are checked for key, signature, audience, issuer and expiry."""

    def test_link_then_sign_in(
        self, http: httpx.Client, vserver: ServerProcess, signing_keys: dict[str, Any]
    ) -> None:
        user = create_user(vserver)
        subject = uuid.uuid4().hex
        token = id_token(
            signing_keys["good"], kid="k1", aud=CLIENT_ID, sub=subject, email="someone@gmail.test"
        )
        _problem(http.post("/auth/google", json={"idToken": token}), 401, "googleAccountNotLinked")
        linked = http.post("/auth/google", json={"idToken": token}, headers=user.headers)
        assert linked.status_code == 200, linked.text
        signed_in = http.post("/auth/google", json={"idToken": token})
        assert signed_in.status_code == 200, signed_in.text
        access = signed_in.json()["accessToken"]
        me = http.get("/users/me", headers={"Authorization": f"Bearer {access}"})
        assert me.json()["id"] == str(user.id)
        # The other issuer spelling names the same Google account.
        short = id_token(
            signing_keys["good"], kid="k1", aud=CLIENT_ID, sub=subject, iss="accounts.google.com"
        )
        assert http.post("/auth/google", json={"idToken": short}).status_code == 200
        # One Google account, one storyhub account.
        other = create_user(vserver)
        _problem(
            http.post("/auth/google", json={"idToken": token}, headers=other.headers),
            409,
            "googleAccountLinked",
        )

    @pytest.mark.parametrize(
        ("reason", "overrides"),
        [
            ("unknownKey", {"kid": "not-a-known-kid"}),
            ("badSignature", {"signer": "rogue"}),
            ("wrongAudience", {"aud": "someone-else.apps.googleusercontent.com"}),
            ("wrongIssuer", {"iss": "https://evil.example"}),
            ("expired", {"expires_in": -3600}),
        ],
    )
    def test_rejections(
        self,
        http: httpx.Client,
        signing_keys: dict[str, Any],
        reason: str,
        overrides: dict[str, Any],
    ) -> None:
        claims: dict[str, Any] = {"kid": "k1", "aud": CLIENT_ID, "sub": uuid.uuid4().hex}
        claims.update(overrides)  # a copy: the parameters are shared between both modes
        signer = signing_keys[claims.pop("signer", "good")]
        token = id_token(signer, **claims)
        body = _problem(
            http.post("/auth/google", json={"idToken": token}), 401, "invalidGoogleToken"
        )
        assert body["reason"] == reason

    def test_other_algorithms_and_garbage_are_refused(self, http: httpx.Client) -> None:
        forged = id_token(
            new_rsa_key(),
            kid="k1",
            aud=CLIENT_ID,
            sub="x",
            algorithm="HS256",
            signing_key="a-shared-secret-that-is-long-enough-32",
        )
        body = _problem(
            http.post("/auth/google", json={"idToken": forged}), 401, "invalidGoogleToken"
        )
        assert body["reason"] == "algorithm"
        body = _problem(
            http.post("/auth/google", json={"idToken": "not.a.jwt"}), 401, "invalidGoogleToken"
        )
        assert body["reason"] == "malformed"

    def test_google_verification_request_is_approved(
        self, http: httpx.Client, vserver: ServerProcess, signing_keys: dict[str, Any]
    ) -> None:
        user = create_user(vserver)
        token = id_token(signing_keys["good"], kid="k1", aud=CLIENT_ID, sub=uuid.uuid4().hex)
        made = http.post(
            "/verifications",
            json={"method": "googleSignIn", "idToken": token},
            headers=user.headers,
        )
        assert made.status_code == 201, made.text
        assert (made.json()["status"], made.json()["trust"]) == ("approved", "medium")
        expired = id_token(signing_keys["good"], kid="k1", aud=CLIENT_ID, sub="y", expires_in=-3600)
        _problem(
            http.post(
                "/verifications",
                json={"method": "googleSignIn", "idToken": expired},
                headers=user.headers,
            ),
            401,
            "invalidGoogleToken",
        )
