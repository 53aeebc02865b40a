"""Parental consent end to end: real SMTP (aiosmtpd), a services-mode server, real HTTP.

The server sends through aiosmtplib to a private aiosmtpd; the tests read the
mail, follow the link as a logged-in adult, and watch the child's account
change. A second suite does the same against the embedded mail folder and
``storyhub admin mail``.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import base_env, fresh_pg_database
from tests.support.cli import run_admin
from tests.support.mailbox import Mailbox, body_text, consent_token
from tests.support.server import ServerProcess
from tests.support.server_db import execute
from tests.support.services import free_port
from tests.support.stories import create_story
from tests.support.users import TestUser, access_token

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def mail_server(
    mailbox: Mailbox, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A services-mode server (PostgreSQL + Redis) that sends mail to ``mailbox``."""
    env = base_env(tmp_path_factory.mktemp("consent"))
    port = free_port()
    env.update(
        {
            # Its own database: another server on the same outbox would drain it too.
            "STORYHUB_DATABASE_URL": fresh_pg_database("consent"),
            "STORYHUB_VALKEY_URL": redis_url,
            "STORYHUB_SMTP_HOST": "127.0.0.1",
            "STORYHUB_SMTP_PORT": str(mailbox.port),
            "STORYHUB_SMTP_STARTTLS": "false",
            "STORYHUB_MAIL_FROM": "storyhub <no-reply@storyhub.test>",
            "STORYHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    server = ServerProcess(env, tmp_path_factory.mktemp("logs") / "consent.log", port=port)
    server.start()
    yield server
    server.stop()


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


def _years_ago(years: int) -> str:
    today = date.today()
    return today.replace(year=today.year - years, day=1).isoformat()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.json()


def _register(http: httpx.Client, email: str, years: int, **extra: Any) -> dict[str, Any]:
    body = {
        "email": email,
        "password": PASSWORD,
        "displayName": extra.pop("displayName", "Robin"),
        "birthDate": _years_ago(years),
        "country": "US",
        **extra,
    }
    response = http.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _login(http: httpx.Client, email: str) -> dict[str, Any]:
    response = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def _adult(http: httpx.Client, email: str) -> dict[str, str]:
    _register(http, email, 40, displayName="Parent")
    return _bearer(_login(http, email)["accessToken"])


def _audit_actions(server: ServerProcess, user_id: str) -> list[str]:
    rows = execute(
        server, "SELECT action FROM audit_events WHERE subject = ? ORDER BY id", f"user:{user_id}"
    )
    return [row[0] for row in rows]


@pytest.fixture
def http(mail_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mail_server.base_url, timeout=15) as client:
        yield client


class TestConsentThroughSmtp:
    """A child's registration mails the parent a link that turns the child active."""

    def test_register_mail_link_grant_change_and_revoke(
        self, http: httpx.Client, mailbox: Mailbox, mail_server: ServerProcess
    ) -> None:
        child_email, parent_email = _email("kid"), _email("Parent")
        child = _register(http, child_email, 8, displayName="Robin", parentEmail=parent_email)
        assert (child["ageTier"], child["status"]) == ("child", "pendingConsent")

        message = mailbox.wait_for(parent_email.lower())
        assert message["From"] == "storyhub <no-reply@storyhub.test>"
        assert "consent" in message["Subject"].lower()
        text = body_text(message)
        assert "Robin" in text
        assert mail_server.base_url + "/consent/shc_" in text
        token = consent_token(text)

        shown = http.get(f"/consent/{token}")
        assert shown.status_code == 200, shown.text
        view = shown.json()
        assert view["childDisplayName"] == "Robin"
        assert view["noticeVersion"]
        assert [s["scope"] for s in view["scopes"]] == [
            "participate",
            "aiFeatures",
            "mediaGeneration",
            "publicLibrary",
        ]
        assert view["parentEmailHint"].endswith("@example.test")
        assert parent_email.lower() not in shown.text

        # Granting needs a login, as the adult the link was sent to.
        _problem(
            http.post(f"/consent/{token}", json={"scopes": ["participate"]}), 401, "unauthenticated"
        )
        stranger = _adult(http, _email("stranger"))
        _problem(
            http.post(f"/consent/{token}", json={"scopes": ["participate"]}, headers=stranger),
            403,
            "parentEmailMismatch",
        )
        parent = _adult(http, parent_email)
        _problem(
            http.post(f"/consent/{token}", json={"scopes": ["aiFeatures"]}, headers=parent),
            400,
            "participateRequired",
        )
        _problem(
            http.post(f"/consent/{token}", json={"scopes": ["participate", "x"]}, headers=parent),
            400,
            "unknownScope",
        )
        granted = http.post(
            f"/consent/{token}",
            json={"scopes": ["participate", "mediaGeneration"]},
            headers=parent,
        )
        assert granted.status_code == 200, granted.text
        body = granted.json()
        assert body["method"] == "emailPlusVerifiedAdult"
        assert body["scopes"] == ["participate", "mediaGeneration"]
        assert body["childStatus"] == "active"
        # Single use.
        _problem(
            http.post(f"/consent/{token}", json={"scopes": ["participate"]}, headers=parent),
            409,
            "consentLinkUsed",
        )

        # The child is active now and can write.
        child_tokens = _login(http, child_email)
        kid = _bearer(child_tokens["accessToken"])
        assert http.get("/users/me", headers=kid).json()["status"] == "active"
        story = http.post(
            "/stories",
            json={"title": "Dragons", "premise": "P", "ageRating": "allAges"},
            headers=kid,
        )
        assert story.status_code == 201, story.text

        # The parent sees the child and the child's stories.
        listed = http.get("/parents/children", headers=parent).json()["children"]
        assert [c["id"] for c in listed] == [child["id"]]
        assert listed[0]["scopes"] == ["participate", "mediaGeneration"]
        detail = http.get(f"/parents/children/{child['id']}", headers=parent)
        assert detail.status_code == 200, detail.text
        assert [s["title"] for s in detail.json()["stories"]] == ["Dragons"]
        assert detail.json()["stories"][0]["role"] == "owner"
        # Nobody else does.
        _problem(
            http.get(f"/parents/children/{child['id']}", headers=stranger), 404, "childNotFound"
        )

        changed = http.patch(
            f"/parents/children/{child['id']}/consent",
            json={"scopes": ["participate", "aiFeatures"]},
            headers=parent,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["scopes"] == ["participate", "aiFeatures"]
        assert changed.json()["method"] == "linkedParent"

        revoked = http.delete(f"/parents/children/{child['id']}/consent", headers=parent)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["childStatus"] == "deactivated"
        _problem(http.get("/users/me", headers=kid), 401, "invalidToken")
        _problem(
            http.post("/auth/refresh", json={"refreshToken": child_tokens["refreshToken"]}),
            401,
            "refreshTokenRevoked",
        )
        _problem(
            http.post("/auth/login", json={"email": child_email, "password": PASSWORD}),
            401,
            "accountDeactivated",
        )
        assert http.get("/parents/children", headers=parent).json()["children"] == []

        jobs = execute(
            mail_server,
            "SELECT kind, status FROM jobs WHERE owner = ?",
            uuid.UUID(child["id"]),
        )
        assert jobs == [("accountDeletion", "queued")]
        actions = _audit_actions(mail_server, child["id"])
        for action in (
            "auth.register",
            "consent.requested",
            "consent.granted",
            "consent.scopesChanged",
            "consent.revoked",
            "account.deletionRequested",
        ):
            assert action in actions

    def test_parent_email_is_required_below_the_consent_age(
        self, http: httpx.Client, mail_server: ServerProcess
    ) -> None:
        email = _email("kid")
        body = {
            "email": email,
            "password": PASSWORD,
            "displayName": "Kim",
            "birthDate": _years_ago(9),
            "country": "US",
        }
        _problem(http.post("/auth/register", json=body), 400, "parentEmailRequired")
        _problem(
            http.post("/auth/register", json={**body, "parentEmail": "nope"}),
            400,
            "invalidParentEmail",
        )
        _problem(
            http.post("/auth/register", json={**body, "parentEmail": email}),
            400,
            "invalidParentEmail",
        )
        assert execute(mail_server, "SELECT count(*) FROM users WHERE email = ?", email) == [(0,)]

    def test_an_adult_registration_sends_no_consent_mail(
        self, http: httpx.Client, mailbox: Mailbox
    ) -> None:
        parent_email = _email("nobody")
        created = _register(http, _email("grown"), 30, parentEmail=parent_email)
        assert created["status"] == "active"
        time.sleep(1.5)
        assert mailbox.count_to(parent_email) == 0

    def test_minors_cannot_consent_and_bad_links_are_refused(
        self, http: httpx.Client, mailbox: Mailbox
    ) -> None:
        parent_email = _email("teenparent")
        _register(http, _email("kid"), 7, parentEmail=parent_email)
        token = consent_token(body_text(mailbox.wait_for(parent_email)))
        _register(http, parent_email, 14, country="ES")  # a teen who owns that address
        teen = _bearer(_login(http, parent_email)["accessToken"])
        _problem(
            http.post(f"/consent/{token}", json={"scopes": ["participate"]}, headers=teen),
            403,
            "verifiedAdultRequired",
        )
        _problem(http.get("/consent/shc_" + "A" * 43), 404, "consentLinkNotFound")
        _problem(http.get("/consent/garbage"), 404, "consentLinkNotFound")
        _problem(http.get(f"/consent/{token[:-2]}xx"), 404, "consentLinkNotFound")


class TestSeveralNodes:
    def test_two_nodes_on_one_outbox_send_each_mail_once(
        self,
        http: httpx.Client,
        mailbox: Mailbox,
        mail_server: ServerProcess,
        tmp_path: Path,
    ) -> None:
        settings = {k: v for k, v in mail_server.env.items() if k.startswith("STORYHUB_")}
        second = ServerProcess(settings, tmp_path / "node-b.log")
        second.start()
        try:
            with httpx.Client(base_url=second.base_url, timeout=15) as other:
                parents = [_email(f"node{i}") for i in range(6)]
                for index, parent_email in enumerate(parents):
                    node = http if index % 2 == 0 else other
                    _register(node, _email("kid"), 8, parentEmail=parent_email)
                for parent_email in parents:
                    mailbox.wait_for(parent_email)
                time.sleep(2.5)  # more than a poll interval of both dispatchers
                assert [mailbox.count_to(p) for p in parents] == [1] * len(parents)
        finally:
            second.stop()


class TestAskingAgain:
    def test_a_waiting_child_can_ask_again_a_few_times_a_day(
        self, http: httpx.Client, mailbox: Mailbox
    ) -> None:
        child_email, first_parent = _email("kid"), _email("first")
        _register(http, child_email, 8, parentEmail=first_parent)
        old_token = consent_token(body_text(mailbox.wait_for(first_parent)))
        kid = _bearer(_login(http, child_email)["accessToken"])

        second_parent = _email("second")
        asked = http.post("/consent-requests", json={"parentEmail": second_parent}, headers=kid)
        assert asked.status_code == 202, asked.text
        assert asked.json()["parentEmailHint"].startswith(second_parent[0] + "***@")
        new_token = consent_token(body_text(mailbox.wait_for(second_parent)))
        _problem(http.get(f"/consent/{old_token}"), 410, "consentLinkExpired")
        assert http.get(f"/consent/{new_token}").status_code == 200

        third = http.post("/consent-requests", json={"parentEmail": _email("x")}, headers=kid)
        assert third.status_code == 202, third.text
        _problem(
            http.post("/consent-requests", json={"parentEmail": _email("y")}, headers=kid),
            429,
            "tooManyConsentRequests",
        )
        _problem(
            http.post("/consent-requests", json={"parentEmail": "bad"}, headers=kid),
            400,
            "invalidParentEmail",
        )
        adult = _adult(http, _email("grown"))
        _problem(
            http.post("/consent-requests", json={"parentEmail": _email("z")}, headers=adult),
            409,
            "consentNotPending",
        )


class TestPendingChildren:
    """A child waiting for consent can be neither invited nor join a room."""

    async def test_pending_child_cannot_be_invited_or_join(
        self, http: httpx.Client, mail_server: ServerProcess
    ) -> None:
        from websockets.exceptions import InvalidStatus

        from tests.support.wsclient import StoryClient

        owner = _adult(http, _email("owner"))
        story = http.post(
            "/stories", json={"title": "T", "premise": "P", "ageRating": "allAges"}, headers=owner
        ).json()
        kid_email = _email("kid")
        kid = _register(http, kid_email, 8, parentEmail=_email("p"))
        for invite in ({"userId": kid["id"]}, {"email": kid_email}):
            _problem(
                http.post(
                    f"/stories/{story['id']}/collaborators",
                    json={**invite, "role": "author"},
                    headers=owner,
                ),
                404,
                "userNotFound",
            )
        # Even with a collaborator row planted directly, the socket stays shut.
        owner_id = uuid.UUID(http.get("/users/me", headers=owner).json()["id"])
        pending = TestUser(
            id=uuid.UUID(kid["id"]),
            email=kid_email,
            token=access_token(mail_server, uuid.UUID(kid["id"])),
            display_name="Robin",
        )
        planted = create_story(
            mail_server,
            TestUser(id=owner_id, email="", token="", display_name="Owner"),
            [(pending, "author")],
        )
        with pytest.raises(InvalidStatus) as refused:
            await StoryClient.open(mail_server, planted, token=pending.token)
        assert refused.value.response.status_code == 403
        _problem(
            http.post(f"/stories/{planted}/ws-ticket", headers=pending.headers),
            403,
            "consentRequired",
        )


class TestParentCreatedChild:
    def test_parent_creates_an_active_linked_child(self, http: httpx.Client) -> None:
        parent = _adult(http, _email("mum"))
        response = http.post(
            "/parents/children",
            json={
                "displayName": "Sam",
                "birthDate": _years_ago(6),
                "password": PASSWORD,
                "scopes": ["participate", "publicLibrary"],
            },
            headers=parent,
        )
        assert response.status_code == 201, response.text
        child = response.json()
        assert (child["ageTier"], child["status"]) == ("child", "active")
        assert child["email"].endswith("@children.storyhub.invalid")
        kid = _bearer(_login(http, child["email"])["accessToken"])
        assert http.get("/users/me", headers=kid).json()["status"] == "active"
        detail = http.get(f"/parents/children/{child['id']}", headers=parent).json()
        assert detail["consent"]["method"] == "parentCreated"
        assert detail["consent"]["scopes"] == ["participate", "publicLibrary"]

    def test_only_adults_create_children_and_only_minors_are_created(
        self, http: httpx.Client
    ) -> None:
        parent = _adult(http, _email("dad"))
        body = {"displayName": "Al", "birthDate": _years_ago(30), "password": PASSWORD}
        _problem(http.post("/parents/children", json=body, headers=parent), 400, "notAChild")
        teen_email = _email("teen")
        _register(http, teen_email, 15, country="ES")
        teen = _bearer(_login(http, teen_email)["accessToken"])
        kid_body = {**body, "birthDate": _years_ago(5)}
        _problem(
            http.post("/parents/children", json=kid_body, headers=teen),
            403,
            "verifiedAdultRequired",
        )
        _problem(
            http.post("/parents/children", json={**kid_body, "scopes": []}, headers=parent),
            400,
            "participateRequired",
        )


# --- embedded mode: the mail folder and `storyhub admin mail` --------------------------


def _admin_mail(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_admin(env, "mail", *args)


class TestEmbeddedMailFolder:
    """Without SMTP, mail lands in ``<data dir>/mail`` and the admin command lists it."""

    def test_consent_mail_in_the_folder_and_listed(self, embedded_server: ServerProcess) -> None:
        folder = Path(embedded_server.env["STORYHUB_DATA_DIR"]) / "mail"
        parent_email = _email("folder-parent")
        with httpx.Client(base_url=embedded_server.base_url, timeout=15) as client:
            _register(client, _email("kid"), 8, displayName="Pip", parentEmail=parent_email)
            deadline = time.monotonic() + 20
            found: list[Path] = []
            while time.monotonic() < deadline and not found:
                found = [p for p in folder.glob("*.eml") if parent_email in p.read_text()]
                time.sleep(0.1)
            assert found, f"no mail for {parent_email} in {folder}"

            settings = {k: v for k, v in embedded_server.env.items() if k.startswith("STORYHUB_")}
            listed = _admin_mail(settings)
            assert listed.returncode == 0, listed.stderr
            line = next(row for row in listed.stdout.splitlines() if parent_email in row)
            assert "consent" in line.lower()
            mail_id = line.split()[0]
            shown = _admin_mail(settings, "--show", mail_id)
            assert shown.returncode == 0, shown.stderr
            token = consent_token(shown.stdout)
            assert _admin_mail(settings, "--show", "no-such-id").returncode == 1

            # The folder's link works like the mailed one.
            parent = _adult(client, parent_email)
            granted = client.post(
                f"/consent/{token}", json={"scopes": ["participate"]}, headers=parent
            )
            assert granted.status_code == 200, granted.text
