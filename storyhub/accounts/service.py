"""Account use cases: register, log in, refresh, log out, profile, password change.

Controllers and the admin command call these; the rules they apply live in
:mod:`storyhub.accounts.tiers`, :mod:`storyhub.accounts.validation` and
:mod:`storyhub.accounts.passwords`, the token bookkeeping in
:mod:`storyhub.accounts.refresh`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from storyhub.accounts import consent, refresh, tiers
from storyhub.accounts.passwords import Passwords, check_password_rules, passwords_for
from storyhub.accounts.principal import AccountStatus, Principal, Role
from storyhub.accounts.schemas import (
    Profile,
    ProfileUpdate,
    RegisteredUser,
    RegisterRequest,
    TokenPair,
)
from storyhub.accounts.tables import User
from storyhub.accounts.tokens import TokenService
from storyhub.accounts.validation import clean_display_name, merge_preferences, normalise_email
from storyhub.audit import service as audit
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    Unauthenticated,
    is_unique_violation,
)
from storyhub.settings import Settings

log = logging.getLogger("storyhub.accounts")

SessionsRevoked = Callable[[UUID], None]
"""Told the id of a user whose sessions were revoked (live sockets should close)."""


def _bad_credentials() -> Unauthenticated:
    # One answer for "no such email" and "wrong password".
    return Unauthenticated("The email or password is not correct.", code="invalidCredentials")


def birth_date_context(user_id: UUID) -> str:
    """Binds a sealed birth date to its row, so it cannot be pasted onto another."""
    return f"birth_date:{user_id}"


def _today() -> date:
    return datetime.now(UTC).date()


def _user_subject(user_id: UUID) -> str:
    return f"user:{user_id}"


class AccountService:
    """Account operations for one request (or one admin command)."""

    def __init__(
        self,
        settings: Settings,
        cipher: FieldCipher,
        tokens: TokenService,
        *,
        passwords: Passwords | None = None,
        on_sessions_revoked: SessionsRevoked | None = None,
        today: Callable[[], date] = _today,
        ip: str | None = None,
    ) -> None:
        self._settings = settings
        self._cipher = cipher
        self._tokens = tokens
        self._passwords = passwords or passwords_for(settings.password_profile)
        self._on_sessions_revoked = on_sessions_revoked
        self._today = today
        self._ip = ip

    # --- registration -------------------------------------------------------------

    async def register(
        self,
        data: RegisterRequest,
        role: Role = "user",
        *,
        parent: Principal | None = None,
        parent_scopes: frozenset[str] = frozenset({"participate"}),
    ) -> RegisteredUser:
        """Create an account; a child below the consent age starts ``pendingConsent``.

        Such a child must name ``parentEmail``: the parent is mailed a consent
        link in the same transaction. With ``parent`` (a logged-in adult
        creating a child's account) the child is linked and consented at once.
        """
        email = normalise_email(data.email)
        check_password_rules(data.password)
        display_name = clean_display_name(data.display_name)
        try:
            country = tiers.normalise_country(data.country)
        except ValueError:
            raise InvalidInput(
                "The country must be a two-letter ISO 3166-1 code such as DE.",
                code="invalidCountry",
            ) from None
        try:
            age = tiers.check_birth_date(data.birth_date, self._today())
        except tiers.InvalidBirthDate as exc:
            raise InvalidInput(str(exc), code="invalidBirthDate") from None
        age_tier = tiers.tier_for_age(age)
        if role != "user" and age_tier != "adult":
            raise InvalidInput("Only adults can be moderators or admins.", code="roleNotAllowed")
        status: AccountStatus = (
            "pendingConsent" if tiers.needs_parental_consent(age, country) else "active"
        )
        parent_email = None
        parent_verifications: list[str] = []
        if parent is not None:
            if age_tier == "adult":
                raise InvalidInput("A parent can only create a minor's account.", code="notAChild")
            parent_verifications = await consent.parent_evidence(
                parent, require_verified=self._settings.consent_requires_verified_parent
            )
            status = "active"
        elif status == "pendingConsent":
            parent_email = consent.check_parent_email(data.parent_email, email)

        # Checked first so a taken email costs no hashing; the unique index
        # below still decides races.
        if await User.exists().where(User.email == email):
            raise Conflict("An account with this email already exists.", code="emailTaken")
        password_hash = await self._passwords.hash(data.password)
        user_id = uuid.uuid4()
        user = User(
            id=user_id,
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            birth_date_enc=self._cipher.seal(
                data.birth_date.isoformat(), context=birth_date_context(user_id)
            ),
            age_tier=age_tier,
            country=country,
            status=status,
            role=role,
        )
        try:
            async with consent.writing():
                await User.insert(user)
                if parent is not None:
                    await consent.link_parent_created_child(
                        self._cipher,
                        parent,
                        user_id,
                        parent_scopes,
                        parent_verifications=parent_verifications,
                        ip=self._ip,
                    )
                elif parent_email is not None:
                    await consent.request_consent(
                        self._settings,
                        self._cipher,
                        child_id=user_id,
                        child_display_name=display_name,
                        parent_email=parent_email,
                        ip=self._ip,
                    )
        except Exception as exc:
            if is_unique_violation(exc):
                raise Conflict(
                    "An account with this email already exists.", code="emailTaken"
                ) from None
            raise
        await audit.record(
            "auth.register",
            actor_id=user_id,
            subject=_user_subject(user_id),
            ip=self._ip,
            data={
                "ageTier": age_tier,
                "status": status,
                "role": role,
                "createdByParent": parent is not None,
            },
        )
        return RegisteredUser(
            id=user_id, email=email, display_name=display_name, age_tier=age_tier, status=status
        )

    # --- sessions -----------------------------------------------------------------

    async def login(self, email: str, password: str) -> TokenPair:
        """Tokens for a correct email and password; one 401 for every failure.

        Unknown emails cost one argon2 verification too, so neither the answer
        nor its timing tells whether an account exists.
        """
        try:
            normalised = normalise_email(email)
        except InvalidInput:
            normalised = None
        row = None
        if normalised is not None:
            row = (
                await User.select(
                    User.id,
                    User.password_hash,
                    User.auth_epoch,
                    User.status,
                    User.age_tier,
                    User.birth_date_enc,
                )
                .where(User.email == normalised)
                .first()
            )
        if row is None or row["password_hash"] is None:
            await self._passwords.burn_verify(password)
            await audit.record(
                "auth.login.failed",
                subject=None if row is None else _user_subject(row["id"]),
                ip=self._ip,
                data={
                    "reason": "unknownEmail" if row is None else "noPassword",
                    "emailHash": self._cipher.lookup_hash(normalised or email.strip().lower()),
                },
            )
            raise _bad_credentials()
        user_id: UUID = row["id"]
        if not await self._passwords.verify(row["password_hash"], password):
            await audit.record(
                "auth.login.failed",
                subject=_user_subject(user_id),
                ip=self._ip,
                data={"reason": "wrongPassword"},
            )
            raise _bad_credentials()
        if row["status"] == "deactivated":
            await audit.record(
                "auth.login.failed",
                subject=_user_subject(user_id),
                ip=self._ip,
                data={"reason": "deactivated"},
            )
            raise Unauthenticated("This account is deactivated.", code="accountDeactivated")

        changes: dict[Any, Any] = {}
        if self._passwords.needs_rehash(row["password_hash"]):
            changes[User.password_hash] = await self._passwords.hash(password)
        current_tier = self._current_tier(user_id, row["birth_date_enc"])
        if current_tier is not None and current_tier != row["age_tier"]:
            changes[User.age_tier] = current_tier
        if changes:
            changes[User.updated_at] = datetime.now(UTC)
            await User.update(changes).where(User.id == user_id)

        pair = await self._new_session(user_id, row["auth_epoch"])
        await audit.record(
            "auth.login.succeeded",
            actor_id=user_id,
            subject=_user_subject(user_id),
            ip=self._ip,
            data={"rehashed": User.password_hash in changes},
        )
        return pair

    def _current_tier(self, user_id: UUID, sealed_birth_date: str) -> str | None:
        # Tiers move with birthdays; keep the stored one current at each login.
        try:
            born = date.fromisoformat(
                self._cipher.open(sealed_birth_date, context=birth_date_context(user_id))
            )
            return tiers.tier_for_age(tiers.age_on(born, self._today()))
        except ValueError:
            log.warning("cannot read the birth date of a user", extra={"userId": str(user_id)})
            return None

    async def _new_session(self, user_id: UUID, epoch: int) -> TokenPair:
        token = await refresh.start_family(user_id, self._settings.refresh_token_ttl)
        return TokenPair(
            access_token=self._tokens.issue(user_id, epoch),
            refresh_token=token,
            expires_in=self._tokens.ttl_seconds,
        )

    async def refresh(self, token: str) -> TokenPair:
        """Spend a refresh token for a new pair; a reused one revokes its family (401)."""
        try:
            rotated = await refresh.rotate(token, self._settings.refresh_token_ttl)
        except refresh.RefreshTokenReused as exc:
            await audit.record(
                "auth.refresh.reused",
                subject=_user_subject(exc.user_id),
                ip=self._ip,
                data={"familyId": str(exc.family_id)},
            )
            self._sessions_revoked(exc.user_id)
            raise
        if rotated.user_status == "deactivated":
            await refresh.revoke_family(rotated.family_id)
            raise Unauthenticated("This account is deactivated.", code="accountDeactivated")
        return TokenPair(
            access_token=self._tokens.issue(rotated.user_id, rotated.auth_epoch),
            refresh_token=rotated.token,
            expires_in=self._tokens.ttl_seconds,
        )

    async def logout(self, token: str) -> None:
        """Revoke the family of ``token``; unknown tokens are ignored (idempotent)."""
        owner = await refresh.owner_of(token)
        if owner is None:
            return
        user_id, family_id = owner
        await refresh.revoke_family(family_id)
        await audit.record(
            "auth.logout",
            actor_id=user_id,
            subject=_user_subject(user_id),
            ip=self._ip,
            data={"familyId": str(family_id)},
        )
        self._sessions_revoked(user_id)

    def _sessions_revoked(self, user_id: UUID) -> None:
        if self._on_sessions_revoked is not None:
            self._on_sessions_revoked(user_id)

    # --- the caller's own account -------------------------------------------------

    async def profile(self, user_id: UUID) -> Profile:
        """The caller's profile."""
        row = (
            await User.select(
                User.id,
                User.email,
                User.display_name,
                User.age_tier,
                User.status,
                User.role,
                User.country,
                User.preferences,
                User.created_at,
            )
            .where(User.id == user_id)
            .output(load_json=True)
            .first()
        )
        if row is None:
            raise Unauthenticated("The account no longer exists.", code="invalidToken")
        if not isinstance(row["preferences"], dict):
            row["preferences"] = {}
        return Profile(**row)

    async def update_profile(self, user_id: UUID, update: ProfileUpdate) -> Profile:
        """Change the display name and/or merge preferences."""
        changes: dict[Any, Any] = {}
        if update.display_name is not None:
            changes[User.display_name] = clean_display_name(update.display_name)
        if update.preferences is not None:
            current = await self.profile(user_id)
            changes[User.preferences] = merge_preferences(current.preferences, update.preferences)
        if changes:
            changes[User.updated_at] = datetime.now(UTC)
            await User.update(changes).where(User.id == user_id)
        return await self.profile(user_id)

    async def change_password(
        self, principal: Principal, current_password: str, new_password: str
    ) -> TokenPair:
        """Set a new password, sign out every session, and start a fresh one.

        All refresh families are revoked and ``auth_epoch`` moves on, so every
        outstanding access token stops working at once.
        """
        row = await User.select(User.password_hash).where(User.id == principal.id).first()
        stored = None if row is None else row["password_hash"]
        if stored is None or not await self._passwords.verify(stored, current_password):
            await audit.record(
                "auth.password.changeFailed",
                actor_id=principal.id,
                subject=_user_subject(principal.id),
                ip=self._ip,
                data={"reason": "wrongPassword"},
            )
            raise Forbidden("The current password is not correct.", code="wrongPassword")
        check_password_rules(new_password)
        new_hash = await self._passwords.hash(new_password)
        # Revoke first, bump the epoch second: see refresh.rotate for why.
        await refresh.revoke_user(principal.id)
        rows = (
            await User.update(
                {
                    User.password_hash: new_hash,
                    User.auth_epoch: User.auth_epoch + 1,
                    User.updated_at: datetime.now(UTC),
                }
            )
            .where(User.id == principal.id)
            .returning(User.auth_epoch)
        )
        await audit.record(
            "auth.password.changed",
            actor_id=principal.id,
            subject=_user_subject(principal.id),
            ip=self._ip,
        )
        self._sessions_revoked(principal.id)
        return await self._new_session(principal.id, rows[0]["auth_epoch"])
