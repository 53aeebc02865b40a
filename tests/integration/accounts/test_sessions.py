"""Refresh families, revocation and password change against each real database."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from storyhub.accounts import refresh
from storyhub.accounts.auth import authenticate
from storyhub.accounts.passwords import Passwords
from storyhub.accounts.principal import Principal
from storyhub.accounts.schemas import RegisterRequest, TokenPair
from storyhub.accounts.service import AccountService
from storyhub.accounts.tables import RefreshToken, User
from storyhub.accounts.tokens import TokenService
from storyhub.audit.tables import AuditEvent
from storyhub.lib.crypto import FieldCipher, token_hash
from storyhub.lib.errors import Conflict, Forbidden, Unauthenticated
from storyhub.settings import Settings, load_settings
from tests.conftest import TEST_SECRET

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_SECRET_KEY": TEST_SECRET,
            "STORYHUB_PASSWORD_PROFILE": "test",
        }
    )


@pytest.fixture
def tokens(settings: Settings) -> TokenService:
    return TokenService(
        settings.secret_key,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl_seconds=settings.access_token_ttl,
    )


class Revocations:
    """Collects the users whose sessions the service said were revoked."""

    def __init__(self) -> None:
        self.users: list[UUID] = []

    def __call__(self, user_id: UUID) -> None:
        self.users.append(user_id)


@pytest.fixture
def revoked() -> Revocations:
    return Revocations()


@pytest.fixture
def accounts(settings: Settings, tokens: TokenService, revoked: Revocations) -> AccountService:
    return AccountService(
        settings,
        FieldCipher(settings.secret_key),
        tokens,
        on_sessions_revoked=revoked,
        ip="10.0.0.1",
    )


async def _user(accounts: AccountService, birth: date = date(1990, 1, 1)) -> tuple[UUID, str]:
    email = f"{uuid.uuid4().hex[:12]}@example.test"
    created = await accounts.register(
        RegisterRequest(
            email=email,
            password=PASSWORD,
            display_name="Ada",
            birth_date=birth,
            parent_email=f"parent-{email}",  # used only below the consent age
        )
    )
    return created.id, email


async def _principal(tokens: TokenService, pair: TokenPair) -> Principal:
    principal, _ = await authenticate(tokens, pair.access_token)
    return principal


class TestRegistration:
    """The database, not a prior check, decides who gets an email."""

    async def test_concurrent_registrations_with_one_email_create_one_user(
        self, db: Any, accounts: AccountService
    ) -> None:
        email = f"{uuid.uuid4().hex[:12]}@example.test"
        request = RegisterRequest(
            email=email, password=PASSWORD, display_name="Ada", birth_date=date(1990, 1, 1)
        )
        results = await asyncio.wait_for(
            asyncio.gather(*(accounts.register(request) for _ in range(3)), return_exceptions=True),
            timeout=60,
        )
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(conflicts) == 2, results
        assert {c.code for c in conflicts} == {"emailTaken"}
        assert await User.count().where(User.email == email) == 1

    async def test_birth_date_is_sealed_to_its_row(
        self, db: Any, accounts: AccountService, settings: Settings
    ) -> None:
        user_id, _ = await _user(accounts, birth=date(1991, 7, 8))
        row = await User.select(User.birth_date_enc).where(User.id == user_id).first()
        assert row is not None
        sealed = row["birth_date_enc"]
        assert "1991" not in sealed
        cipher = FieldCipher(settings.secret_key)
        assert cipher.open(sealed, context=f"birth_date:{user_id}") == "1991-07-08"
        with pytest.raises(ValueError, match="decrypt"):
            cipher.open(sealed, context=f"birth_date:{uuid.uuid4()}")


class TestRotation:
    """Each refresh spends the token and hands out its successor."""

    async def test_refresh_rotates_within_the_family(
        self, db: Any, accounts: AccountService
    ) -> None:
        _, email = await _user(accounts)
        first = await accounts.login(email, PASSWORD)
        second = await accounts.refresh(first.refresh_token)
        third = await accounts.refresh(second.refresh_token)
        assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
        families = await RefreshToken.select(RefreshToken.family_id).where(
            RefreshToken.token_hash.is_in(
                [token_hash(t.refresh_token) for t in (first, second, third)]
            )
        )
        assert len(families) == 3
        assert len({row["family_id"] for row in families}) == 1

    async def test_only_hashes_are_stored(self, db: Any, accounts: AccountService) -> None:
        user_id, email = await _user(accounts)
        pair = await accounts.login(email, PASSWORD)
        rows = await RefreshToken.select().where(RefreshToken.user == user_id)
        assert pair.refresh_token not in repr(rows)
        assert rows[0]["token_hash"] == token_hash(pair.refresh_token)

    async def test_reuse_revokes_the_whole_family(
        self, db: Any, accounts: AccountService, revoked: Revocations
    ) -> None:
        user_id, email = await _user(accounts)
        first = await accounts.login(email, PASSWORD)
        second = await accounts.refresh(first.refresh_token)
        with pytest.raises(refresh.RefreshTokenReused) as caught:
            await accounts.refresh(first.refresh_token)
        assert caught.value.status == 401
        assert caught.value.code == "refreshTokenReused"
        with pytest.raises(Unauthenticated) as successor:
            await accounts.refresh(second.refresh_token)
        assert successor.value.code == "refreshTokenRevoked"
        assert revoked.users == [user_id]
        actions = await AuditEvent.select(AuditEvent.action).where(
            AuditEvent.subject == f"user:{user_id}"
        )
        assert "auth.refresh.reused" in [row["action"] for row in actions]

    async def test_reuse_leaves_other_families_alone(
        self, db: Any, accounts: AccountService
    ) -> None:
        _, email = await _user(accounts)
        phone = await accounts.login(email, PASSWORD)
        laptop = await accounts.login(email, PASSWORD)
        await accounts.refresh(phone.refresh_token)
        with pytest.raises(refresh.RefreshTokenReused):
            await accounts.refresh(phone.refresh_token)
        assert (await accounts.refresh(laptop.refresh_token)).refresh_token

    async def test_concurrent_double_use_yields_exactly_one_success(
        self, db: Any, accounts: AccountService
    ) -> None:
        _, email = await _user(accounts)
        pair = await accounts.login(email, PASSWORD)
        results = await asyncio.wait_for(
            asyncio.gather(
                *(accounts.refresh(pair.refresh_token) for _ in range(4)), return_exceptions=True
            ),
            timeout=60,
        )
        successes = [r for r in results if isinstance(r, TokenPair)]
        failures = [r for r in results if isinstance(r, Unauthenticated)]
        assert len(successes) == 1, results
        assert len(failures) == 3, results
        assert {f.code for f in failures} <= {"refreshTokenReused", "refreshTokenRevoked"}
        # The race was detected as reuse, so the winner's successor is dead too.
        with pytest.raises(Unauthenticated):
            await accounts.refresh(successes[0].refresh_token)

    async def test_expired_token_is_refused(self, db: Any, accounts: AccountService) -> None:
        user_id, _ = await _user(accounts)
        long_ago = datetime.now(UTC) - timedelta(days=2)
        token = await refresh.start_family(user_id, ttl_seconds=60, now=long_ago)
        with pytest.raises(Unauthenticated) as caught:
            await accounts.refresh(token)
        assert caught.value.code == "refreshTokenExpired"

    async def test_unknown_token_is_refused(self, db: Any, accounts: AccountService) -> None:
        with pytest.raises(Unauthenticated) as caught:
            await accounts.refresh(refresh.new_token())
        assert caught.value.code == "invalidRefreshToken"

    async def test_access_token_from_refresh_works(
        self, db: Any, accounts: AccountService, tokens: TokenService
    ) -> None:
        user_id, email = await _user(accounts)
        pair = await accounts.refresh((await accounts.login(email, PASSWORD)).refresh_token)
        assert (await _principal(tokens, pair)).id == user_id


class TestLogout:
    """Logout ends one family and tells live connections."""

    async def test_logout_revokes_the_family(
        self, db: Any, accounts: AccountService, revoked: Revocations
    ) -> None:
        user_id, email = await _user(accounts)
        first = await accounts.login(email, PASSWORD)
        second = await accounts.refresh(first.refresh_token)
        other_device = await accounts.login(email, PASSWORD)
        await accounts.logout(second.refresh_token)
        with pytest.raises(Unauthenticated) as caught:
            await accounts.refresh(second.refresh_token)
        assert caught.value.code == "refreshTokenRevoked"
        assert revoked.users == [user_id]
        assert (await accounts.refresh(other_device.refresh_token)).access_token

    async def test_logout_racing_a_refresh_leaves_no_live_successor(
        self, db: Any, accounts: AccountService
    ) -> None:
        _, email = await _user(accounts)
        for _ in range(5):
            pair = await accounts.login(email, PASSWORD)
            outcome, _ = await asyncio.wait_for(
                asyncio.gather(
                    accounts.refresh(pair.refresh_token),
                    accounts.logout(pair.refresh_token),
                    return_exceptions=True,
                ),
                timeout=60,
            )
            if isinstance(outcome, TokenPair):
                with pytest.raises(Unauthenticated):
                    await accounts.refresh(outcome.refresh_token)
            else:
                assert isinstance(outcome, Unauthenticated), outcome

    async def test_logout_with_unknown_token_is_a_no_op(
        self, db: Any, accounts: AccountService, revoked: Revocations
    ) -> None:
        await accounts.logout(refresh.new_token())
        assert revoked.users == []


class TestPasswordChange:
    """A new password signs every session out."""

    async def test_revokes_every_family_and_bumps_the_epoch(
        self, db: Any, accounts: AccountService, tokens: TokenService, revoked: Revocations
    ) -> None:
        user_id, email = await _user(accounts)
        phone = await accounts.login(email, PASSWORD)
        laptop = await accounts.login(email, PASSWORD)
        principal = await _principal(tokens, phone)
        epoch_before = principal.auth_epoch

        fresh = await accounts.change_password(principal, PASSWORD, "a brand new passphrase")

        for old in (phone, laptop):
            with pytest.raises(Unauthenticated):
                await authenticate(tokens, old.access_token)
            with pytest.raises(Unauthenticated):
                await accounts.refresh(old.refresh_token)
        row = await User.select(User.auth_epoch).where(User.id == user_id).first()
        assert row is not None
        assert row["auth_epoch"] == epoch_before + 1
        assert (await _principal(tokens, fresh)).id == user_id
        assert revoked.users == [user_id]
        with pytest.raises(Unauthenticated):
            await accounts.login(email, PASSWORD)
        assert (await accounts.login(email, "a brand new passphrase")).access_token

    async def test_password_change_racing_a_refresh_leaves_nothing_alive(
        self, db: Any, accounts: AccountService, tokens: TokenService
    ) -> None:
        _, email = await _user(accounts)
        password = PASSWORD
        for round_no in range(4):
            thief = await accounts.login(email, password)
            owner = await _principal(tokens, await accounts.login(email, password))
            new_password = f"{PASSWORD} round {round_no}"
            stolen, _ = await asyncio.wait_for(
                asyncio.gather(
                    accounts.refresh(thief.refresh_token),
                    accounts.change_password(owner, password, new_password),
                    return_exceptions=True,
                ),
                timeout=60,
            )
            password = new_password
            if isinstance(stolen, TokenPair):
                with pytest.raises(Unauthenticated):
                    await authenticate(tokens, stolen.access_token)
                with pytest.raises(Unauthenticated):
                    await accounts.refresh(stolen.refresh_token)
            else:
                assert isinstance(stolen, Unauthenticated), stolen

    async def test_wrong_current_password_changes_nothing(
        self, db: Any, accounts: AccountService, tokens: TokenService
    ) -> None:
        _, email = await _user(accounts)
        pair = await accounts.login(email, PASSWORD)
        principal = await _principal(tokens, pair)
        with pytest.raises(Forbidden) as caught:
            await accounts.change_password(principal, "not my password", "a brand new passphrase")
        assert caught.value.code == "wrongPassword"
        assert (await _principal(tokens, pair)).id == principal.id
        assert await accounts.refresh(pair.refresh_token)


class TestLogin:
    """Login upgrades old hashes and keeps tiers current, and never leaks secrets."""

    async def test_weak_hash_is_upgraded_at_login(
        self, db: Any, accounts: AccountService, settings: Settings, tokens: TokenService
    ) -> None:
        user_id, email = await _user(accounts)  # hashed with the cheap test profile
        production = AccountService(
            settings,
            FieldCipher(settings.secret_key),
            tokens,
            passwords=Passwords("production"),
        )
        await production.login(email, PASSWORD)
        row = await User.select(User.password_hash).where(User.id == user_id).first()
        assert row is not None
        assert row["password_hash"].startswith("$argon2id$v=19$m=32768,t=3,p=1$")
        assert await production.login(email, PASSWORD)

    async def test_tier_moves_on_at_login_after_a_birthday(
        self, db: Any, settings: Settings, tokens: TokenService
    ) -> None:
        cipher = FieldCipher(settings.secret_key)
        then = AccountService(settings, cipher, tokens, today=lambda: date(2025, 3, 9))
        user_id, email = await _user(then, birth=date(2012, 3, 10))
        row = await User.select(User.age_tier).where(User.id == user_id).first()
        assert row == {"age_tier": "child"}
        later = AccountService(settings, cipher, tokens, today=lambda: date(2025, 3, 10))
        await later.login(email, PASSWORD)
        row = await User.select(User.age_tier).where(User.id == user_id).first()
        assert row == {"age_tier": "teen"}

    async def test_unknown_email_and_wrong_password_fail_alike(
        self, db: Any, accounts: AccountService
    ) -> None:
        _, email = await _user(accounts)
        with pytest.raises(Unauthenticated) as wrong:
            await accounts.login(email, "wrong password!")
        with pytest.raises(Unauthenticated) as unknown:
            await accounts.login("nobody-" + email, PASSWORD)
        assert (wrong.value.code, wrong.value.message) == (
            unknown.value.code,
            unknown.value.message,
        )
        assert wrong.value.code == "invalidCredentials"

    async def test_unknown_email_costs_as_much_as_a_wrong_password(
        self, db: Any, settings: Settings, tokens: TokenService
    ) -> None:
        production = AccountService(
            settings, FieldCipher(settings.secret_key), tokens, passwords=Passwords("production")
        )
        _, email = await _user(production)

        async def duration(address: str) -> float:
            started = time.perf_counter()
            with pytest.raises(Unauthenticated):
                await production.login(address, "wrong password!")
            return time.perf_counter() - started

        await duration("warm-up-" + email)  # computes the dummy hash once
        known = sorted([await duration(email) for _ in range(3)])[1]
        unknown = sorted([await duration("nobody-" + email) for _ in range(3)])[1]
        # Without the dummy verification an unknown email answers ~100x faster.
        assert unknown > known * 0.5, (known, unknown)

    async def test_audit_rows_never_hold_passwords_or_tokens(
        self, db: Any, accounts: AccountService, tokens: TokenService
    ) -> None:
        last = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False)
        first_id = last[0]["id"] if last else 0
        user_id, email = await _user(accounts)
        with pytest.raises(Unauthenticated):
            await accounts.login(email, "wrong password!")
        with pytest.raises(Unauthenticated):
            await accounts.login("nobody-" + email, "another wrong one")
        pair = await accounts.login(email, PASSWORD)
        second = await accounts.refresh(pair.refresh_token)
        with pytest.raises(Unauthenticated):
            await accounts.refresh(pair.refresh_token)
        fresh = await accounts.change_password(
            await _principal(tokens, await accounts.login(email, PASSWORD)),
            PASSWORD,
            "a brand new passphrase",
        )
        await accounts.logout(fresh.refresh_token)
        rows = await AuditEvent.select().where(AuditEvent.id > first_id)
        dump = repr(rows)
        actions = {row["action"] for row in rows if row["subject"] == f"user:{user_id}"}
        assert {
            "auth.register",
            "auth.login.failed",
            "auth.login.succeeded",
            "auth.refresh.reused",
            "auth.password.changed",
            "auth.logout",
        } <= actions
        for secret in (
            PASSWORD,
            "wrong password!",
            "another wrong one",
            "a brand new passphrase",
            pair.refresh_token,
            pair.access_token,
            second.refresh_token,
            fresh.refresh_token,
            fresh.access_token,
        ):
            assert secret not in dump
