"""Age-verification requests: self-declaration, parental consent, ID document, Google.

Each request keeps a status history (``[{status, at, by, note?}]``).

=================  ==========================================  ========
method             what happens                                trust
=================  ==========================================  ========
selfDeclaration    recorded at once (``recorded``)             low
parentalConsent    ``approved`` when a parent's consent is in  medium
                   force, else ``pending`` until it is
googleSignIn       a verified Google ID token is linked to     medium
                   the account (``approved``)
idDocument         ``awaitingDocument`` → upload →             high
                   ``inReview`` → a moderator decides
                   (``approved`` / ``rejected``)
=================  ==========================================  ========

Uploaded documents are encrypted (AES-GCM, the field cipher's key, bound to
the request id) before they reach blob storage, under a key the server makes;
the blob is deleted as soon as a moderator decides.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any, Final, Literal
from uuid import UUID

import msgspec

from storyhub.accounts import google_accounts
from storyhub.accounts.google import GoogleVerifier
from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import AgeVerificationRequest, ParentalLink
from storyhub.audit import service as audit
from storyhub.lib.blobs import BlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict, Forbidden, InvalidInput, NotFound, StoryhubError

Method = Literal["selfDeclaration", "parentalConsent", "idDocument", "googleSignIn"]
Decision = Literal["approve", "reject"]

TRUST: Final[dict[str, str]] = {
    "selfDeclaration": "low",
    "parentalConsent": "medium",
    "googleSignIn": "medium",
    "idDocument": "high",
}
MAX_DOCUMENT_BYTES: Final[int] = 5 * 1024 * 1024
DOCUMENT_TYPES: Final[dict[str, tuple[bytes, ...]]] = {
    # Declared type -> accepted leading bytes: the declaration must match the file.
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}
MAX_NOTE_LENGTH: Final[int] = 500
OPEN_STATUSES: Final[tuple[str, ...]] = ("pending", "awaitingDocument", "inReview")


class PayloadTooLarge(StoryhubError):
    status = 413
    code = "documentTooLarge"
    title = "Payload too large"


class UnsupportedDocument(StoryhubError):
    status = 415
    code = "unsupportedDocumentType"
    title = "Unsupported media type"


class HistoryEntry(msgspec.Struct, rename="camel", kw_only=True):
    status: str
    at: datetime
    by: str
    note: str | None = None


class VerificationOut(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    user_id: UUID
    method: str
    status: str
    trust: str
    history: list[HistoryEntry]
    created_at: datetime
    updated_at: datetime
    has_document: bool = False


class VerificationList(msgspec.Struct, rename="camel", kw_only=True):
    requests: list[VerificationOut]


def _now() -> datetime:
    return datetime.now(UTC)


def document_context(request_id: UUID) -> str:
    """Binds an encrypted document to its request."""
    return f"verification-document:{request_id}"


def evidence_context(request_id: UUID) -> str:
    return f"verification:{request_id}"


def check_document(content_type: str | None, data: bytes) -> str:
    """The document's content type if allowed and matching its bytes; 4xx otherwise."""
    declared = (content_type or "").split(";")[0].strip().lower()
    signatures = DOCUMENT_TYPES.get(declared)
    if signatures is None:
        raise UnsupportedDocument(
            "Upload a JPEG, PNG or PDF file (image/jpeg, image/png, application/pdf)."
        )
    if not data:
        raise InvalidInput("The uploaded file is empty.", code="emptyDocument")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLarge(f"Documents may be at most {MAX_DOCUMENT_BYTES // 1024 // 1024} MiB.")
    if not data.startswith(signatures):
        raise UnsupportedDocument(f"The file's content is not {declared}.")
    return declared


def _entry(
    status: str, by: str, note: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status, "at": (at or _now()).isoformat(), "by": by}
    if note:
        entry["note"] = note
    return entry


def _history(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def _out(row: dict[str, Any]) -> VerificationOut:
    return VerificationOut(
        id=row["id"],
        user_id=row["user"],
        method=row["method"],
        status=row["status"],
        trust=TRUST.get(row["method"], "low"),
        history=msgspec.convert(_history(row["history"]), list[HistoryEntry]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        has_document=row.get("evidence_key_enc") is not None,
    )


_COLUMNS = (
    AgeVerificationRequest.id,
    AgeVerificationRequest.user,
    AgeVerificationRequest.method,
    AgeVerificationRequest.status,
    AgeVerificationRequest.history,
    AgeVerificationRequest.evidence_key_enc,
    AgeVerificationRequest.created_at,
    AgeVerificationRequest.updated_at,
)


async def _load(request_id: UUID) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await AgeVerificationRequest.select(*_COLUMNS)
        .where(AgeVerificationRequest.id == request_id)
        .output(load_json=True)
        .first()
    )
    return row


def _not_found() -> NotFound:
    return NotFound("No such verification request.", code="verificationNotFound")


async def _own(principal: Principal, request_id: UUID) -> dict[str, Any]:
    row = await _load(request_id)
    if row is None or row["user"] != principal.id:
        raise _not_found()
    return row


# --- the user's side ----------------------------------------------------------------


async def create(
    principal: Principal,
    method: Method,
    *,
    cipher: FieldCipher,
    google: GoogleVerifier | None,
    id_token: str | None,
    ip: str | None = None,
) -> VerificationOut:
    """Open a verification request of ``method`` for the caller."""
    now = _now()
    by = str(principal.id)
    if method != "parentalConsent" and principal.status != "active":
        raise Forbidden(
            "This account is waiting for a parent's consent and cannot do this yet.",
            code="consentRequired",
        )
    if method != "googleSignIn" and id_token is not None:
        raise InvalidInput("idToken belongs to the googleSignIn method only.", code="invalidInput")
    history = [_entry("pending", by, at=now)]
    if method == "selfDeclaration":
        history.append(_entry("recorded", by, at=now))
    elif method == "parentalConsent":
        if principal.age_tier == "adult":
            raise InvalidInput("Parental consent verifies minors only.", code="methodNotApplicable")
        consented = await ParentalLink.exists().where(
            (ParentalLink.child == principal.id) & (ParentalLink.status == "active")
        )
        if consented:
            history.append(_entry("approved", "parentalLink", at=now))
    elif method == "idDocument":
        open_request = await AgeVerificationRequest.exists().where(
            (AgeVerificationRequest.user == principal.id)
            & (AgeVerificationRequest.method == "idDocument")
            & AgeVerificationRequest.status.is_in(list(OPEN_STATUSES))
        )
        if open_request:
            raise Conflict(
                "An ID-document request is already open for this account.",
                code="verificationOpen",
            )
        history.append(_entry("awaitingDocument", by, at=now))
    elif method == "googleSignIn":
        if google is None:
            raise InvalidInput(
                "Google sign-in is not configured on this server.", code="methodUnavailable"
            )
        if not id_token:
            raise InvalidInput("googleSignIn needs an idToken.", code="idTokenRequired")
        identity = await google.verify(id_token)
        await google_accounts.link(cipher, principal.id, identity, ip=ip)
        history.append(_entry("approved", "google", at=now))
    request_id = uuid.uuid4()
    await AgeVerificationRequest.insert(
        AgeVerificationRequest(
            id=request_id,
            user=principal.id,
            method=method,
            status=history[-1]["status"],
            history=history,
            created_at=now,
            updated_at=now,
        )
    )
    await audit.record(
        "verification.requested",
        actor_id=principal.id,
        subject=f"verification:{request_id}",
        ip=ip,
        data={"method": method, "status": history[-1]["status"]},
    )
    row = await _load(request_id)
    assert row is not None
    return _out(row)


async def mine(principal: Principal) -> list[VerificationOut]:
    """The caller's requests, newest first."""
    rows = (
        await AgeVerificationRequest.select(*_COLUMNS)
        .where(AgeVerificationRequest.user == principal.id)
        .order_by(AgeVerificationRequest.created_at, ascending=False)
        .output(load_json=True)
    )
    return [_out(row) for row in rows]


async def one_of_mine(principal: Principal, request_id: UUID) -> VerificationOut:
    return _out(await _own(principal, request_id))


async def upload_document(
    principal: Principal,
    request_id: UUID,
    content_type: str | None,
    data: bytes,
    *,
    blobs: BlobStore,
    cipher: FieldCipher,
    ip: str | None = None,
) -> VerificationOut:
    """Store the ID document encrypted and put the request in review."""
    row = await _own(principal, request_id)
    if row["method"] != "idDocument":
        raise InvalidInput("Only ID-document requests take a document.", code="methodNotApplicable")
    if row["status"] != "awaitingDocument":
        raise Conflict("A document was already uploaded for this request.", code="documentUploaded")
    declared = check_document(content_type, data)
    # The key is ours alone; nothing the client sends becomes part of it.
    key = f"verifications/{request_id}/{secrets.token_hex(16)}.bin"
    await blobs.put(
        key,
        cipher.seal_bytes(data, context=document_context(request_id)),
        "application/octet-stream",
    )
    now = _now()
    history = [*_history(row["history"]), _entry("inReview", str(principal.id), at=now)]
    evidence = json.dumps({"key": key, "contentType": declared, "size": len(data)})
    moved = (
        await AgeVerificationRequest.update(
            {
                AgeVerificationRequest.status: "inReview",
                AgeVerificationRequest.evidence_key_enc: cipher.seal(
                    evidence, context=evidence_context(request_id)
                ),
                AgeVerificationRequest.history: history,
                AgeVerificationRequest.updated_at: now,
            }
        )
        .where(
            (AgeVerificationRequest.id == request_id)
            & (AgeVerificationRequest.status == "awaitingDocument")
        )
        .returning(AgeVerificationRequest.id)
    )
    if not moved:
        await blobs.delete(key)  # a concurrent upload won; keep no orphan
        raise Conflict("A document was already uploaded for this request.", code="documentUploaded")
    await audit.record(
        "verification.documentUploaded",
        actor_id=principal.id,
        subject=f"verification:{request_id}",
        ip=ip,
        data={"contentType": declared, "size": len(data)},
    )
    fresh = await _load(request_id)
    assert fresh is not None
    return _out(fresh)


# --- the moderator's side -------------------------------------------------------------


async def for_review(status: str | None = "inReview", limit: int = 100) -> list[VerificationOut]:
    """Requests in ``status`` (all when ``None``), oldest first."""
    query = AgeVerificationRequest.select(*_COLUMNS)
    if status is not None:
        query = query.where(AgeVerificationRequest.status == status)
    rows = (
        await query.order_by(AgeVerificationRequest.created_at).limit(limit).output(load_json=True)
    )
    return [_out(row) for row in rows]


def _evidence(cipher: FieldCipher, row: dict[str, Any]) -> dict[str, Any] | None:
    sealed = row["evidence_key_enc"]
    if sealed is None:
        return None
    evidence: dict[str, Any] = json.loads(cipher.open(sealed, context=evidence_context(row["id"])))
    return evidence


async def document(request_id: UUID, *, blobs: BlobStore, cipher: FieldCipher) -> tuple[bytes, str]:
    """The decrypted document and its content type, for a reviewer."""
    row = await _load(request_id)
    if row is None:
        raise _not_found()
    evidence = _evidence(cipher, row)
    if evidence is None:
        raise NotFound("This request has no document (any more).", code="documentNotFound")
    sealed = await blobs.get(evidence["key"])
    return cipher.open_bytes(sealed, context=document_context(request_id)), evidence["contentType"]


async def decide(
    request_id: UUID,
    decision: Decision,
    note: str | None,
    *,
    reviewer_id: UUID | None,
    by: str,
    blobs: BlobStore,
    cipher: FieldCipher,
    ip: str | None = None,
) -> VerificationOut:
    """Approve or reject a request in review, then delete its document."""
    if note is not None and len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"A note may be at most {MAX_NOTE_LENGTH} characters.", code="noteTooLong"
        )
    row = await _load(request_id)
    if row is None:
        raise _not_found()
    if row["status"] != "inReview":
        raise Conflict("This request is not waiting for review.", code="notInReview")
    status = "approved" if decision == "approve" else "rejected"
    now = _now()
    history = [*_history(row["history"]), _entry(status, by, note, at=now)]
    decided = (
        await AgeVerificationRequest.update(
            {
                AgeVerificationRequest.status: status,
                AgeVerificationRequest.reviewer: reviewer_id,
                AgeVerificationRequest.history: history,
                AgeVerificationRequest.updated_at: now,
            }
        )
        .where(
            (AgeVerificationRequest.id == request_id)
            & (AgeVerificationRequest.status == "inReview")
        )
        .returning(AgeVerificationRequest.id)
    )
    if not decided:
        raise Conflict("Another reviewer decided this request first.", code="notInReview")
    evidence = _evidence(cipher, row)
    if evidence is not None:
        # Delete first, forget the key second: a failed delete leaves the key
        # for a retry instead of an unreachable file.
        await blobs.delete(evidence["key"])
        await AgeVerificationRequest.update({AgeVerificationRequest.evidence_key_enc: None}).where(
            AgeVerificationRequest.id == request_id
        )
    await audit.record(
        "verification.decided",
        actor_id=reviewer_id,
        subject=f"verification:{request_id}",
        ip=ip,
        data={"decision": status, "by": by, "documentDeleted": evidence is not None},
    )
    fresh = await _load(request_id)
    assert fresh is not None
    return _out(fresh)
