"""Consent rules against each real database: links, grants, scopes in force, AI gating."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from storyhub.accounts import consent
from storyhub.accounts.principal import Principal
from storyhub.accounts.schemas import RegisterRequest
from storyhub.accounts.service import AccountService
from storyhub.accounts.tables import ConsentRecord, MailOutbox, ParentalLink, User
from storyhub.accounts.tokens import TokenService
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict, Forbidden, NotFound
from storyhub.mail import outbox
from storyhub.settings import Settings, load_settings
from tests.conftest import TEST_SECRET
from tests.support.mailbox import consent_token

PASSWORD = "correct horse battery staple"
CIPHER = FieldCipher(TEST_SECRET)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_SECRET_KEY": TEST_SECRET,
            "STORYHUB_PASSWORD_PROFILE": "test",
            "STORYHUB_PUBLIC_URL": "https://storyhub.example",
        }
    )


@pytest.fixture
def accounts(settings: Settings) -> AccountService:
    tokens = TokenService(TEST_SECRET, issuer="storyhub", audience="storyhub-api", ttl_seconds=900)
    return AccountService(settings, CIPHER, tokens)


def _years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years, day=1)


async def _register(
    accounts: AccountService, years: int, parent_email: str | None = None, **kw: Any
) -> tuple[UUID, str]:
    email = f"{uuid.uuid4().hex[:12]}@example.test"
    made = await accounts.register(
        RegisterRequest(
            email=email,
            password=PASSWORD,
            display_name="Robin",
            birth_date=_years_ago(years),
            country="US",
            parent_email=parent_email,
        ),
        **kw,
    )
    return made.id, email


async def _principal(user_id: UUID) -> Principal:
    from storyhub.accounts.auth import load_principal

    principal = await load_principal(user_id)
    assert principal is not None
    return principal


async def _token_for(parent_email: str) -> str:
    # Claim the consent mail as the sender would and read the link from it.
    mails = await outbox.claim_due(CIPHER, limit=100, lease_seconds=60)
    [mail] = [m for m in mails if m.recipient == parent_email]
    assert "https://storyhub.example/consent/shc_" in mail.body
    return consent_token(mail.body)


class TestLinks:
    async def test_registration_queues_one_mail_and_stores_no_token(
        self, db: Any, accounts: AccountService
    ) -> None:
        parent_email = f"p-{uuid.uuid4().hex[:8]}@example.test"
        child_id, _ = await _register(accounts, 8, parent_email)
        token = await _token_for(parent_email)
        link = await ParentalLink.select().where(ParentalLink.child == child_id).first()
        assert link is not None
        assert link["id"] == consent.link_id_for(token)
        assert link["status"] == "pending"
        assert parent_email not in link["parent_email_enc"]
        # Only a hash of the token is kept; the queued mail holds it sealed.
        stored = str(await ParentalLink.select()) + str(await MailOutbox.select())
        assert token not in stored
        assert parent_email not in stored

    async def test_a_new_request_supersedes_the_old_link(
        self, db: Any, accounts: AccountService, settings: Settings
    ) -> None:
        parent_email = f"p-{uuid.uuid4().hex[:8]}@example.test"
        child_id, _ = await _register(accounts, 8, parent_email)
        old = await _token_for(parent_email)
        await consent.request_consent(
            settings,
            CIPHER,
            child_id=child_id,
            child_display_name="Robin",
            parent_email=parent_email,
        )
        new = await _token_for(parent_email)
        with pytest.raises(consent.ConsentLinkExpired):
            await consent.describe_link(CIPHER, old)
        assert (await consent.describe_link(CIPHER, new)).child_display_name == "Robin"

    async def test_links_expire_after_seven_days(self, db: Any, accounts: AccountService) -> None:
        parent_email = f"p-{uuid.uuid4().hex[:8]}@example.test"
        child_id, _ = await _register(accounts, 8, parent_email)
        token = await _token_for(parent_email)
        await ParentalLink.update(
            {ParentalLink.created_at: datetime.now(UTC) - timedelta(days=7, seconds=1)}
        ).where(ParentalLink.child == child_id)
        with pytest.raises(consent.ConsentLinkExpired):
            await consent.describe_link(CIPHER, token)

    async def test_two_parents_racing_one_link_make_one_consent(
        self, db: Any, accounts: AccountService
    ) -> None:
        parent_email = f"p-{uuid.uuid4().hex[:8]}@example.test"
        child_id, _ = await _register(accounts, 8, parent_email)
        token = await _token_for(parent_email)
        parent_id = (
            await accounts.register(
                RegisterRequest(
                    email=parent_email,
                    password=PASSWORD,
                    display_name="P",
                    birth_date=_years_ago(40),
                )
            )
        ).id
        parent = await _principal(parent_id)
        results = await asyncio.gather(
            *(consent.grant(CIPHER, parent, token, ["participate"]) for _ in range(3)),
            return_exceptions=True,
        )
        assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
        assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
        records = await ConsentRecord.select().where(ConsentRecord.child == child_id)
        assert len(records) == 1
        assert (await User.select(User.status).where(User.id == child_id).first()) == {
            "status": "active"
        }


class TestScopesInForce:
    """consent_scopes and may_send_to_ai_provider: what other parts of storyhub ask."""

    async def test_a_child_without_the_ai_scope_may_not_reach_an_ai_provider(
        self, db: Any, accounts: AccountService
    ) -> None:
        parent_id, _ = await _register(accounts, 40)
        parent = await _principal(parent_id)
        child_id, _ = await _register(
            accounts, 9, parent=parent, parent_scopes=frozenset({"participate"})
        )
        assert await consent.consent_scopes(child_id) == frozenset({"participate"})
        assert await consent.may_send_to_ai_provider(child_id) is False

        await consent.change_scopes(CIPHER, parent, child_id, ["participate", "aiFeatures"], None)
        assert await consent.may_send_to_ai_provider(child_id) is True

        await consent.revoke(parent, child_id, None)
        assert await consent.consent_scopes(child_id) == frozenset()
        assert await consent.may_send_to_ai_provider(child_id) is False

    async def test_adults_and_self_consenting_teens_have_every_scope(
        self, db: Any, accounts: AccountService
    ) -> None:
        adult_id, _ = await _register(accounts, 30)
        teen_id, _ = await _register(accounts, 14)  # US: 13 is the consent age
        for user_id in (adult_id, teen_id):
            assert await consent.may_send_to_ai_provider(user_id) is True
            assert await consent.consent_scopes(user_id) == frozenset(
                {"participate", "aiFeatures", "mediaGeneration", "publicLibrary"}
            )

    async def test_pending_unknown_and_unlinked_children_get_nothing(
        self, db: Any, accounts: AccountService
    ) -> None:
        pending_id, _ = await _register(accounts, 8, f"p-{uuid.uuid4().hex[:8]}@example.test")
        assert await consent.may_send_to_ai_provider(pending_id) is False
        assert await consent.consent_scopes(uuid.uuid4()) == frozenset()
        # An active child with no parental link (e.g. made by hand): fail closed.
        await User.update({User.status: "active"}).where(User.id == pending_id)
        assert await consent.consent_scopes(pending_id) == frozenset()


class TestParentRights:
    async def test_only_the_linked_parent_sees_and_changes_a_child(
        self, db: Any, accounts: AccountService
    ) -> None:
        parent = await _principal((await _register(accounts, 40))[0])
        other = await _principal((await _register(accounts, 41))[0])
        child_id, _ = await _register(accounts, 7, parent=parent)
        assert [c.id for c in await consent.list_children(parent.id)] == [child_id]
        assert await consent.list_children(other.id) == []
        for attempt in (
            consent.child_detail(other.id, child_id),
            consent.change_scopes(CIPHER, other, child_id, ["participate"], None),
            consent.revoke(other, child_id, None),
        ):
            with pytest.raises(NotFound):
                await attempt
        teen = await _principal((await _register(accounts, 15))[0])
        with pytest.raises(Forbidden):
            await consent.revoke(teen, child_id, None)


class TestVerifiedParents:
    """With STORYHUB_CONSENT_REQUIRES_VERIFIED_PARENT, only strongly verified adults consent."""

    async def test_grant_needs_an_approved_id_or_google_verification(
        self, db: Any, accounts: AccountService
    ) -> None:
        from storyhub.accounts.tables import AgeVerificationRequest

        parent_email = f"p-{uuid.uuid4().hex[:8]}@example.test"
        child_id, _ = await _register(accounts, 8, parent_email)
        token = await _token_for(parent_email)
        parent_id = (
            await accounts.register(
                RegisterRequest(
                    email=parent_email,
                    password=PASSWORD,
                    display_name="P",
                    birth_date=_years_ago(40),
                )
            )
        ).id
        parent = await _principal(parent_id)
        for method, status in (("selfDeclaration", "recorded"), ("idDocument", "rejected")):
            await AgeVerificationRequest.insert(
                AgeVerificationRequest(user=parent_id, method=method, status=status, history=[])
            )
        with pytest.raises(Forbidden) as refused:
            await consent.grant(CIPHER, parent, token, ["participate"], require_verified=True)
        assert refused.value.code == "parentVerificationRequired"
        assert await consent.consent_scopes(child_id) == frozenset()

        await AgeVerificationRequest.insert(
            AgeVerificationRequest(
                user=parent_id, method="idDocument", status="approved", history=[]
            )
        )
        granted = await consent.grant(CIPHER, parent, token, ["participate"], require_verified=True)
        assert granted.method == "emailPlusVerifiedAdult"
        record = await ConsentRecord.select().where(ConsentRecord.child == child_id).first()
        assert record is not None
        import json

        evidence = json.loads(
            CIPHER.open(record["evidence_enc"], context=f"consent:{record['id']}")
        )
        assert evidence["parentAgeVerifications"] == ["idDocument"]

    async def test_parent_created_children_need_it_too(self, db: Any, settings: Settings) -> None:
        import msgspec

        strict = msgspec.structs.replace(settings, consent_requires_verified_parent=True)
        tokens = TokenService(
            TEST_SECRET, issuer="storyhub", audience="storyhub-api", ttl_seconds=900
        )
        accounts = AccountService(strict, CIPHER, tokens)
        parent = await _principal((await _register(accounts, 40))[0])
        before = await User.count()
        with pytest.raises(Forbidden) as refused:
            await _register(accounts, 6, parent=parent)
        assert refused.value.code == "parentVerificationRequired"
        assert await User.count() == before  # nothing written
