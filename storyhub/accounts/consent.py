"""Verifiable parental consent: links mailed to parents, grants, scopes, revocation.

How a consent link works
    A child's registration (or a re-request) creates a ``ParentalLink`` in
    status ``pending`` and mails the parent ``<public url>/consent/<token>``.
    The token is 256 random bits; only a hash is stored: the link row's
    primary key *is* the first 128 bits of the token's SHA-256, so the token
    itself is nowhere in the database. Links expire after
    :data:`LINK_TTL`, are single use (a conditional update moves the row from
    ``pending`` to ``active`` exactly once), and asking again supersedes the
    older pending links of the same child.

Who may consent
    The parent opens the link while logged in to an *active adult* account
    whose email is the address the link was sent to. Receiving the link
    proves control of the mailbox; the account proves an adult (by its birth
    date, and by any approved age verification, recorded as evidence). The
    consent is recorded with method ``emailPlusVerifiedAdult``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from storyhub.accounts import refresh, scopes
from storyhub.accounts.consent_schemas import (
    ChildDetail,
    ChildStory,
    ChildSummary,
    ConsentOut,
    ConsentRequested,
    ConsentRequestView,
    RevocationOut,
    ScopeDescription,
)
from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import AgeVerificationRequest, ConsentRecord, ParentalLink, User
from storyhub.accounts.validation import normalise_email
from storyhub.audit import service as audit
from storyhub.lib import database
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    StoryhubError,
)
from storyhub.mail import outbox
from storyhub.settings import Settings

NOTICE_VERSION = "2026-11-25"
"""The version of the privacy notice for children that parents agree to."""
LINK_TTL = timedelta(days=7)
TOKEN_PREFIX = "shc_"

METHOD_EMAIL_PLUS = "emailPlusVerifiedAdult"
METHOD_PARENT_CREATED = "parentCreated"
METHOD_LINKED_PARENT = "linkedParent"
"""A scope change by a parent already linked (and logged in)."""

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "participate": "Take part in stories with the people they are invited to.",
    "aiFeatures": "Send your child's text to a third-party AI provider for AI narration.",
    "mediaGeneration": "Generate pictures, audio and video from your child's stories.",
    "publicLibrary": "List your child's finished stories in the public library.",
}


class ConsentLinkExpired(StoryhubError):
    status = 410
    code = "consentLinkExpired"
    title = "Gone"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _subject(user_id: UUID) -> str:
    return f"user:{user_id}"


def writing() -> Any:
    """A write transaction (:func:`storyhub.lib.database.writing`)."""
    return database.writing(ParentalLink._meta.db)


def new_link_token() -> str:
    """A fresh consent-link token (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def link_id_for(token: str) -> UUID:
    """The ``ParentalLink`` id a token names: 128 bits of its SHA-256."""
    return UUID(bytes=hashlib.sha256(token.encode()).digest()[:16])


def parent_email_context(link_id: UUID) -> str:
    return f"parent_email:{link_id}"


def generated_child_email() -> str:
    """A login address for a child created without one (the domain cannot receive mail)."""
    return f"child-{secrets.token_hex(6)}@children.storyhub.invalid"


def mask_email(email: str) -> str:
    """``p***@example.org``: enough for a parent to recognise, not to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def parse_scopes(requested: list[str]) -> frozenset[str]:
    """Scopes from a request: known names, ``participate`` included; else 400."""
    try:
        granted = scopes.normalise_scopes(requested)
    except ValueError as exc:
        raise InvalidInput(str(exc).capitalize() + ".", code="unknownScope") from None
    if scopes.REQUIRED_SCOPE not in granted:
        raise InvalidInput(
            "Consent must include 'participate'; to withdraw it, revoke the consent.",
            code="participateRequired",
        )
    return granted


def check_parent_email(raw: str | None, child_email: str) -> str:
    """The normalised parent address for a child's account; 400 when missing or unusable."""
    if raw is None or not raw.strip():
        raise InvalidInput(
            "Below the age of digital consent a parent's email is required (parentEmail).",
            code="parentEmailRequired",
        )
    try:
        parent_email = normalise_email(raw)
    except InvalidInput:
        raise InvalidInput(
            "The parent's email address is not valid.", code="invalidParentEmail"
        ) from None
    if parent_email == child_email:
        raise InvalidInput(
            "The parent's email must differ from the account's own.", code="invalidParentEmail"
        )
    return parent_email


def _consent_mail(child_name: str, link: str) -> tuple[str, str]:
    subject = "Your consent is needed for a storyhub account"
    body = (
        f"Hello,\n\n"
        f"{child_name} has asked to join storyhub, a place where families and classrooms\n"
        f"write stories together, and gave this address as a parent's.\n\n"
        f"Before they can take part we need your consent. Open this link to see what\n"
        f"we ask for and to choose what you allow (you will need to log in to an adult\n"
        f"storyhub account with this email address):\n\n"
        f"{link}\n\n"
        f"The link works once and expires in {LINK_TTL.days} days. If you do not know\n"
        f"this request, ignore this mail: the account stays inactive.\n"
    )
    return subject, body


# --- asking for consent --------------------------------------------------------


async def request_consent(
    settings: Settings,
    cipher: FieldCipher,
    *,
    child_id: UUID,
    child_display_name: str,
    parent_email: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> UUID:
    """Create a pending link for ``child_id`` and queue the mail to the parent.

    Older pending links of the child are superseded. Call it inside the
    caller's transaction when the child row is created in the same step.
    """
    now = now or _now()
    token = new_link_token()
    link_id = link_id_for(token)
    await ParentalLink.update(
        {ParentalLink.status: "superseded", ParentalLink.updated_at: now}
    ).where((ParentalLink.child == child_id) & (ParentalLink.status == "pending"))
    await ParentalLink.insert(
        ParentalLink(
            id=link_id,
            child=child_id,
            parent=None,
            parent_email_enc=cipher.seal(parent_email, context=parent_email_context(link_id)),
            status="pending",
            created_at=now,
            updated_at=now,
        )
    )
    subject, body = _consent_mail(child_display_name, f"{settings.public_url}/consent/{token}")
    await outbox.enqueue(cipher, parent_email, subject, body, now=now)
    await audit.record(
        "consent.requested",
        actor_id=child_id,
        subject=_subject(child_id),
        ip=ip,
        data={"linkId": str(link_id), "noticeVersion": NOTICE_VERSION},
    )
    return link_id


MAX_REQUESTS_PER_DAY = 3
"""Consent mails one child may trigger in 24 hours (registration included)."""


async def request_again(
    settings: Settings, cipher: FieldCipher, child: Principal, raw_parent_email: str, ip: str | None
) -> ConsentRequested:
    """A child still waiting asks again (a lost or expired mail, another parent)."""
    if child.status != "pendingConsent":
        raise Conflict("This account is not waiting for consent.", code="consentNotPending")
    parent_email = check_parent_email(raw_parent_email, child.email.lower())
    now = _now()
    recent = await ParentalLink.count().where(
        (ParentalLink.child == child.id) & (ParentalLink.created_at > now - timedelta(days=1))
    )
    if recent >= MAX_REQUESTS_PER_DAY:
        raise RateLimited(
            "Consent was requested too often today; try again tomorrow.",
            code="tooManyConsentRequests",
        )
    async with writing():
        await request_consent(
            settings,
            cipher,
            child_id=child.id,
            child_display_name=child.display_name,
            parent_email=parent_email,
            ip=ip,
            now=now,
        )
    return ConsentRequested(parent_email_hint=mask_email(parent_email), expires_at=now + LINK_TTL)


async def _pending_link(token: str, now: datetime) -> dict[str, Any]:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise NotFound("This consent link is not valid.", code="consentLinkNotFound")
    row = (
        await ParentalLink.select(
            ParentalLink.id,
            ParentalLink.child,
            ParentalLink.status,
            ParentalLink.parent_email_enc,
            ParentalLink.created_at,
            ParentalLink.child.display_name.as_alias("child_display_name"),
            ParentalLink.child.age_tier.as_alias("child_age_tier"),
            ParentalLink.child.status.as_alias("child_status"),
        )
        .where(ParentalLink.id == link_id_for(token))
        .first()
    )
    if row is None:
        raise NotFound("This consent link is not valid.", code="consentLinkNotFound")
    if row["status"] == "active" or row["status"] == "revoked":
        raise Conflict("This consent link was already used.", code="consentLinkUsed")
    if row["status"] != "pending" or _aware(row["created_at"]) + LINK_TTL <= now:
        raise ConsentLinkExpired(
            "This consent link has expired or was replaced by a newer one; "
            "ask your child to request consent again."
        )
    return row


async def describe_link(cipher: FieldCipher, token: str) -> ConsentRequestView:
    """What a pending link asks for (public: the link itself is the credential)."""
    row = await _pending_link(token, _now())
    email = cipher.open(row["parent_email_enc"], context=parent_email_context(row["id"]))
    return ConsentRequestView(
        child_display_name=row["child_display_name"],
        child_age_tier=row["child_age_tier"],
        notice_version=NOTICE_VERSION,
        scopes=[
            ScopeDescription(scope=scope, description=SCOPE_DESCRIPTIONS[scope])
            for scope in scopes.sorted_scopes(scopes.ALL_SCOPES)
        ],
        expires_at=_aware(row["created_at"]) + LINK_TTL,
        parent_email_hint=mask_email(email),
    )


def require_adult(principal: Principal) -> None:
    if principal.age_tier != "adult" or principal.status != "active":
        raise Forbidden(
            "Only an active adult account can give parental consent.",
            code="verifiedAdultRequired",
        )


STRONG_VERIFICATIONS = frozenset({"idDocument", "googleSignIn"})
"""Approved verification methods that count when a verified parent is required."""


async def _approved_verifications(user_id: UUID) -> list[str]:
    rows = await AgeVerificationRequest.select(AgeVerificationRequest.method).where(
        (AgeVerificationRequest.user == user_id) & (AgeVerificationRequest.status == "approved")
    )
    return sorted({row["method"] for row in rows})


async def parent_evidence(parent: Principal, *, require_verified: bool) -> list[str]:
    """The parent's approved age verifications; 403 when a strong one is required and missing."""
    approved = await _approved_verifications(parent.id)
    if require_verified and not STRONG_VERIFICATIONS.intersection(approved):
        raise Forbidden(
            "Verify your age first (an ID document or Google sign-in), then open the link again.",
            code="parentVerificationRequired",
        )
    return approved


async def _record(
    cipher: FieldCipher,
    *,
    child_id: UUID,
    parent_id: UUID,
    method: str,
    granted: frozenset[str],
    evidence: dict[str, Any],
    now: datetime,
) -> ConsentOut:
    record_id = uuid.uuid4()
    await ConsentRecord.update({ConsentRecord.revoked_at: now}).where(
        (ConsentRecord.child == child_id) & ConsentRecord.revoked_at.is_null()
    )
    await ConsentRecord.insert(
        ConsentRecord(
            id=record_id,
            child=child_id,
            parent=parent_id,
            method=method,
            notice_version=NOTICE_VERSION,
            scopes=scopes.sorted_scopes(granted),
            evidence_enc=cipher.seal(json.dumps(evidence), context=f"consent:{record_id}"),
            granted_at=now,
        )
    )
    return ConsentOut(
        child_id=child_id,
        child_status="active",
        method=method,
        notice_version=NOTICE_VERSION,
        scopes=scopes.sorted_scopes(granted),
        granted_at=now,
    )


async def _approve_parental_verifications(child_id: UUID, parent_id: UUID, now: datetime) -> None:
    # A pending "parentalConsent" age-verification request is answered by the grant.
    rows = (
        await AgeVerificationRequest.select(
            AgeVerificationRequest.id, AgeVerificationRequest.history
        )
        .where(
            (AgeVerificationRequest.user == child_id)
            & (AgeVerificationRequest.method == "parentalConsent")
            & (AgeVerificationRequest.status == "pending")
        )
        .output(load_json=True)
    )
    for row in rows:
        history = list(row["history"] or [])
        history.append({"status": "approved", "at": now.isoformat(), "by": str(parent_id)})
        await AgeVerificationRequest.update(
            {
                AgeVerificationRequest.status: "approved",
                AgeVerificationRequest.history: history,
                AgeVerificationRequest.updated_at: now,
            }
        ).where(AgeVerificationRequest.id == row["id"])


async def grant(
    cipher: FieldCipher,
    principal: Principal,
    token: str,
    requested: list[str],
    *,
    require_verified: bool = False,
    ip: str | None = None,
) -> ConsentOut:
    """The logged-in parent grants consent through a mailed link."""
    now = _now()
    require_adult(principal)
    granted = parse_scopes(requested)
    row = await _pending_link(token, now)
    link_id: UUID = row["id"]
    child_id: UUID = row["child"]
    email = cipher.open(row["parent_email_enc"], context=parent_email_context(link_id))
    if email != principal.email.lower():
        raise Forbidden(
            "Log in with the account of the email address this link was sent to.",
            code="parentEmailMismatch",
        )
    if principal.id == child_id:
        raise Forbidden("An account cannot consent for itself.", code="verifiedAdultRequired")
    evidence = {
        "linkId": str(link_id),
        "ip": ip,
        "parentAgeVerifications": await parent_evidence(
            principal, require_verified=require_verified
        ),
    }
    async with writing():
        won = (
            await ParentalLink.update(
                {
                    ParentalLink.status: "active",
                    ParentalLink.parent: principal.id,
                    ParentalLink.updated_at: now,
                }
            )
            .where((ParentalLink.id == link_id) & (ParentalLink.status == "pending"))
            .returning(ParentalLink.id)
        )
        if not won:
            raise Conflict("This consent link was already used.", code="consentLinkUsed")
        out = await _record(
            cipher,
            child_id=child_id,
            parent_id=principal.id,
            method=METHOD_EMAIL_PLUS,
            granted=granted,
            evidence=evidence,
            now=now,
        )
        await User.update({User.status: "active", User.updated_at: now}).where(
            (User.id == child_id) & (User.status == "pendingConsent")
        )
        await _approve_parental_verifications(child_id, principal.id, now)
        await audit.record(
            "consent.granted",
            actor_id=principal.id,
            subject=_subject(child_id),
            ip=ip,
            data={
                "method": METHOD_EMAIL_PLUS,
                "scopes": out.scopes,
                "noticeVersion": NOTICE_VERSION,
                "linkId": str(link_id),
            },
        )
    return out


async def link_parent_created_child(
    cipher: FieldCipher,
    parent: Principal,
    child_id: UUID,
    granted: frozenset[str],
    *,
    parent_verifications: list[str],
    ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """A parent made the child's account: link them and record consent at once.

    Called inside the transaction that inserts the child, with the parent's
    approved verifications from :func:`parent_evidence` (checked before it).
    """
    now = now or _now()
    link_id = uuid.uuid4()
    await ParentalLink.insert(
        ParentalLink(
            id=link_id,
            child=child_id,
            parent=parent.id,
            parent_email_enc=cipher.seal(parent.email, context=parent_email_context(link_id)),
            status="active",
            created_at=now,
            updated_at=now,
        )
    )
    out = await _record(
        cipher,
        child_id=child_id,
        parent_id=parent.id,
        method=METHOD_PARENT_CREATED,
        granted=granted,
        evidence={
            "linkId": str(link_id),
            "ip": ip,
            "parentAgeVerifications": parent_verifications,
        },
        now=now,
    )
    await audit.record(
        "consent.granted",
        actor_id=parent.id,
        subject=_subject(child_id),
        ip=ip,
        data={
            "method": METHOD_PARENT_CREATED,
            "scopes": out.scopes,
            "noticeVersion": NOTICE_VERSION,
        },
    )


# --- what a parent sees and changes ----------------------------------------------


async def _current_consent(child_id: UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await ConsentRecord.select(
            ConsentRecord.method,
            ConsentRecord.notice_version,
            ConsentRecord.scopes,
            ConsentRecord.granted_at,
        )
        .where((ConsentRecord.child == child_id) & ConsentRecord.revoked_at.is_null())
        .order_by(ConsentRecord.granted_at, ascending=False)
        .output(load_json=True)
        .first()
    )
    return row


def _scopes_of(row: dict[str, Any] | None) -> frozenset[str]:
    if row is None:
        return scopes.NO_SCOPES
    value = row["scopes"]
    if isinstance(value, str):
        value = json.loads(value)
    return frozenset(str(scope) for scope in value or [])


async def linked_child(parent_id: UUID, child_id: UUID) -> None:
    """Raise 404 ``childNotFound`` unless ``child_id`` is ``parent_id``'s linked child."""
    await _linked_child(parent_id, child_id)


async def _linked_child(parent_id: UUID, child_id: UUID) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await ParentalLink.select(
            ParentalLink.id,
            ParentalLink.updated_at,
            ParentalLink.child.email.as_alias("email"),
            ParentalLink.child.display_name.as_alias("display_name"),
            ParentalLink.child.age_tier.as_alias("age_tier"),
            ParentalLink.child.status.as_alias("status"),
        )
        .where(
            (ParentalLink.parent == parent_id)
            & (ParentalLink.child == child_id)
            & (ParentalLink.status == "active")
        )
        .first()
    )
    if row is None:
        # The same answer for "no such user" and "not your child": no probing.
        raise NotFound("You have no linked child with this id.", code="childNotFound")
    return row


def _summary(child_id: UUID, row: dict[str, Any], consent: dict[str, Any] | None) -> ChildSummary:
    return ChildSummary(
        id=child_id,
        email=row["email"],
        display_name=row["display_name"],
        age_tier=row["age_tier"],
        status=row["status"],
        scopes=scopes.sorted_scopes(_scopes_of(consent)),
        linked_at=row["updated_at"],
    )


def _consent_out(child_id: UUID, status: Any, row: dict[str, Any] | None) -> ConsentOut | None:
    if row is None:
        return None
    return ConsentOut(
        child_id=child_id,
        child_status=status,
        method=row["method"],
        notice_version=row["notice_version"],
        scopes=scopes.sorted_scopes(_scopes_of(row)),
        granted_at=row["granted_at"],
    )


async def list_children(parent_id: UUID) -> list[ChildSummary]:
    """Children linked to ``parent_id``, oldest link first."""
    rows = (
        await ParentalLink.select(
            ParentalLink.child,
            ParentalLink.updated_at,
            ParentalLink.child.email.as_alias("email"),
            ParentalLink.child.display_name.as_alias("display_name"),
            ParentalLink.child.age_tier.as_alias("age_tier"),
            ParentalLink.child.status.as_alias("status"),
        )
        .where((ParentalLink.parent == parent_id) & (ParentalLink.status == "active"))
        .order_by(ParentalLink.created_at)
    )
    return [_summary(row["child"], row, await _current_consent(row["child"])) for row in rows]


async def child_detail(parent_id: UUID, child_id: UUID) -> ChildDetail:
    """A linked child's profile, consent and stories."""
    from storyhub.stories.tables import Collaborator

    row = await _linked_child(parent_id, child_id)
    consent = await _current_consent(child_id)
    story_rows = (
        await Collaborator.select(
            Collaborator.role,
            Collaborator.story.id.as_alias("id"),
            Collaborator.story.title.as_alias("title"),
            Collaborator.story.age_rating.as_alias("age_rating"),
            Collaborator.story.status.as_alias("status"),
            Collaborator.story.creator.as_alias("creator"),
            Collaborator.story.updated_at.as_alias("updated_at"),
        )
        .where(Collaborator.user == child_id)
        .order_by(Collaborator.id, ascending=False)
        .limit(500)
    )
    stories = [
        ChildStory(
            id=story["id"],
            title=story["title"],
            age_rating=story["age_rating"],
            status=story["status"],
            role="owner" if story["creator"] == child_id else story["role"],
            updated_at=story["updated_at"],
        )
        for story in story_rows
    ]
    return ChildDetail(
        child=_summary(child_id, row, consent),
        consent=_consent_out(child_id, row["status"], consent),
        stories=stories,
    )


async def change_scopes(
    cipher: FieldCipher, parent: Principal, child_id: UUID, requested: list[str], ip: str | None
) -> ConsentOut:
    """A linked parent changes what the child may do (a new record; the old one is revoked)."""
    require_adult(parent)
    granted = parse_scopes(requested)
    now = _now()
    link = await _linked_child(parent.id, child_id)
    before = _scopes_of(await _current_consent(child_id))
    async with writing():
        out = await _record(
            cipher,
            child_id=child_id,
            parent_id=parent.id,
            method=METHOD_LINKED_PARENT,
            granted=granted,
            evidence={"linkId": str(link["id"]), "ip": ip},
            now=now,
        )
        await audit.record(
            "consent.scopesChanged",
            actor_id=parent.id,
            subject=_subject(child_id),
            ip=ip,
            data={
                "from": scopes.sorted_scopes(before),
                "to": out.scopes,
                "noticeVersion": NOTICE_VERSION,
            },
        )
    out.child_status = link["status"]
    return out


async def revoke(parent: Principal, child_id: UUID, ip: str | None) -> RevocationOut:
    """Withdraw consent: the child is deactivated, signed out, and queued for deletion.

    The data is not deleted here: a ``jobs`` row of kind ``accountDeletion``
    (status ``queued``) marks it for the retention job, and the audit log
    holds ``account.deletionRequested``.
    """
    from storyhub.jobs.tables import Job

    require_adult(parent)
    now = _now()
    link = await _linked_child(parent.id, child_id)
    job_id = uuid.uuid4()
    # Revoke refresh tokens first, bump the epoch second (see refresh.rotate).
    await refresh.revoke_user(child_id, now)
    async with writing():
        await ParentalLink.update(
            {ParentalLink.status: "revoked", ParentalLink.updated_at: now}
        ).where(ParentalLink.id == link["id"])
        await ConsentRecord.update({ConsentRecord.revoked_at: now}).where(
            (ConsentRecord.child == child_id) & ConsentRecord.revoked_at.is_null()
        )
        await User.update(
            {
                User.status: "deactivated",
                User.auth_epoch: User.auth_epoch + 1,
                User.updated_at: now,
            }
        ).where(User.id == child_id)
        await Job.insert(
            Job(
                id=job_id,
                owner=child_id,
                kind="accountDeletion",
                status="queued",
                result={"requestedBy": str(parent.id), "reason": "consentRevoked"},
                created_at=now,
                updated_at=now,
            )
        )
        await audit.record(
            "consent.revoked",
            actor_id=parent.id,
            subject=_subject(child_id),
            ip=ip,
            data={"linkId": str(link["id"])},
        )
        await audit.record(
            "account.deletionRequested",
            actor_id=parent.id,
            subject=_subject(child_id),
            ip=ip,
            data={"jobId": str(job_id), "reason": "consentRevoked"},
        )
    # Catch a refresh that raced the first pass.
    await refresh.revoke_user(child_id, now)
    return RevocationOut(child_id=child_id, child_status="deactivated", deletion_job_id=job_id)


# --- what other parts of storyhub ask -------------------------------------------------


async def consent_scopes(user_id: UUID) -> frozenset[str]:
    """The scopes in force for ``user_id`` (adults and self-consenting teens: all)."""
    user = await User.select(User.status, User.age_tier).where(User.id == user_id).first()
    if user is None:
        return scopes.NO_SCOPES
    linked = await ParentalLink.exists().where(
        (ParentalLink.child == user_id) & (ParentalLink.status == "active")
    )
    consent = await _current_consent(user_id) if linked else None
    return scopes.effective_scopes(
        status=user["status"],
        age_tier=user["age_tier"],
        has_parental_link=linked,
        consented=_scopes_of(consent) if consent is not None else None,
    )


async def may_send_to_ai_provider(user_id: UUID) -> bool:
    """True only when ``user_id``'s text may go to a third-party AI provider."""
    return scopes.allowed(await consent_scopes(user_id), "aiProvider")


async def may_use(user_id: UUID, feature: scopes.Feature) -> bool:
    """True when ``user_id``'s consent covers ``feature``."""
    return scopes.allowed(await consent_scopes(user_id), feature)
