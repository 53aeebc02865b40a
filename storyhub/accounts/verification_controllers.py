"""HTTP glue for age verification (``/verifications``, ``/moderation/verifications``)
and Google sign-in (``/auth/google``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from storyhub.accounts import google_accounts, refresh, verification
from storyhub.accounts.auth import authenticate, bearer_token, require_role
from storyhub.accounts.google import GoogleVerifier
from storyhub.accounts.principal import Principal
from storyhub.accounts.schemas import TokenPair
from storyhub.accounts.tables import User
from storyhub.accounts.tokens import TokenService
from storyhub.accounts.verification import Decision, Method, VerificationList, VerificationOut
from storyhub.audit import service as audit
from storyhub.lib.blobs import BlobStore
from storyhub.lib.clients import client_ip
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import InvalidInput, Unauthenticated
from storyhub.settings import Settings

PUBLIC = {"exclude_from_auth": True}
UPLOAD_LIMIT = verification.MAX_DOCUMENT_BYTES + 64 * 1024
"""The document limit plus room for the multipart framing."""


@dataclass
class DocumentUpload:
    """The multipart body of a document upload: one file in the field ``data``.

    A dataclass, not a bare ``UploadFile``: with a bare one, Litestar 2 fails
    with a server error when the form holds no file at all; here that is a 400.
    """

    data: UploadFile


class VerificationCreate(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    method: Method
    id_token: str | None = None
    """The Google ID token, for ``googleSignIn`` only."""


class VerificationDecision(
    msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True
):
    decision: Decision
    note: str | None = None


class GoogleSignIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True, kw_only=True):
    id_token: str


def provide_blobs(state: State) -> BlobStore:
    blobs: BlobStore = state.identity_blobs
    return blobs


def provide_google(state: State) -> GoogleVerifier | None:
    google: GoogleVerifier | None = state.get("google")
    return google


class VerificationController(Controller):
    """The caller's own age-verification requests."""

    path = "/verifications"
    tags = ["verification"]
    dependencies = {
        "blobs": Provide(provide_blobs, sync_to_thread=False),
        "google": Provide(provide_google, sync_to_thread=False),
    }

    @post("/", status_code=201)
    async def create(
        self,
        request: Request[Principal, Any, State],
        data: JSONBody[VerificationCreate],
        cipher: FieldCipher,
        google: GoogleVerifier | None,
    ) -> VerificationOut:
        """Open a request (selfDeclaration, parentalConsent, idDocument, googleSignIn)."""
        return await verification.create(
            request.user,
            data.method,
            cipher=cipher,
            google=google,
            id_token=data.id_token,
            ip=client_ip(request),
        )

    @get("/")
    async def list_mine(self, request: Request[Principal, Any, State]) -> VerificationList:
        """The caller's requests, newest first."""
        return VerificationList(requests=await verification.mine(request.user))

    @get("/{request_id:uuid}")
    async def show(
        self, request: Request[Principal, Any, State], request_id: UUID
    ) -> VerificationOut:
        """One of the caller's requests, with its status history."""
        return await verification.one_of_mine(request.user, request_id)

    @post("/{request_id:uuid}/document", status_code=200, request_max_body_size=UPLOAD_LIMIT)
    async def upload(
        self,
        request: Request[Principal, Any, State],
        request_id: UUID,
        data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        blobs: BlobStore,
        cipher: FieldCipher,
    ) -> VerificationOut:
        """Upload the ID document (multipart field ``data``; JPEG, PNG or PDF, ≤ 5 MiB)."""
        upload = data.data
        content = await upload.read()
        return await verification.upload_document(
            request.user,
            request_id,
            upload.content_type,
            content,
            blobs=blobs,
            cipher=cipher,
            ip=client_ip(request),
        )


class VerificationReviewController(Controller):
    """Moderators review ID documents and decide."""

    path = "/moderation/verifications"
    tags = ["moderation"]
    guards = [require_role("moderator", "admin")]
    dependencies = {"blobs": Provide(provide_blobs, sync_to_thread=False)}

    @get("/")
    async def queue(
        self,
        status: Literal[
            "pending", "awaitingDocument", "inReview", "approved", "rejected", "recorded"
        ] = "inReview",
    ) -> VerificationList:
        """Requests in ``status`` (default: waiting for review), oldest first."""
        return VerificationList(requests=await verification.for_review(status))

    @get("/{request_id:uuid}/document", media_type="application/octet-stream")
    async def document(
        self, request_id: UUID, blobs: BlobStore, cipher: FieldCipher
    ) -> Response[bytes]:
        """The decrypted document, for the reviewer's eyes only (never cached)."""
        content, content_type = await verification.document(request_id, blobs=blobs, cipher=cipher)
        return Response(
            content,
            media_type=content_type,
            headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
        )

    @post("/{request_id:uuid}/decision", status_code=200)
    async def decide(
        self,
        request: Request[Principal, Any, State],
        request_id: UUID,
        data: JSONBody[VerificationDecision],
        blobs: BlobStore,
        cipher: FieldCipher,
    ) -> VerificationOut:
        """Approve or reject; the document is deleted from storage either way."""
        return await verification.decide(
            request_id,
            data.decision,
            data.note,
            reviewer_id=request.user.id,
            by=str(request.user.id),
            blobs=blobs,
            cipher=cipher,
            ip=client_ip(request),
        )


class GoogleAuthController(Controller):
    """Sign in with a Google ID token, or link one to the account in the bearer token."""

    path = "/auth/google"
    tags = ["auth"]
    dependencies = {"google": Provide(provide_google, sync_to_thread=False)}

    @post("/", status_code=200, opt=PUBLIC)
    async def sign_in(
        self,
        request: Request[Any, Any, State],
        data: JSONBody[GoogleSignIn],
        google: GoogleVerifier | None,
        cipher: FieldCipher,
        tokens: TokenService,
        settings: Settings,
    ) -> TokenPair:
        """Tokens for the account linked to the Google identity.

        With ``Authorization: Bearer`` the identity is first linked to that
        account (409 ``googleAccountLinked`` if it belongs to another).
        """
        if google is None:
            raise InvalidInput(
                "Google sign-in is not configured on this server.", code="methodUnavailable"
            )
        ip = client_ip(request)
        identity = await google.verify(data.id_token)
        bearer = bearer_token(request)
        if bearer is not None:
            principal, _ = await authenticate(tokens, bearer)
            await google_accounts.link(cipher, principal.id, identity, ip=ip)
            user_id = principal.id
        else:
            found = await google_accounts.find_user(cipher, identity)
            if found is None:
                raise Unauthenticated(
                    "No storyhub account is linked to this Google account yet: register, "
                    "then sign in with Google while logged in to link it.",
                    code="googleAccountNotLinked",
                )
            user_id = found
        row = await User.select(User.status, User.auth_epoch).where(User.id == user_id).first()
        if row is None or row["status"] == "deactivated":
            raise Unauthenticated("This account is deactivated.", code="accountDeactivated")
        await audit.record("auth.google.signIn", actor_id=user_id, subject=f"user:{user_id}", ip=ip)
        return TokenPair(
            access_token=tokens.issue(user_id, row["auth_epoch"]),
            refresh_token=await refresh.start_family(user_id, settings.refresh_token_ttl),
            expires_in=tokens.ttl_seconds,
        )


ROUTE_HANDLERS: list[Any] = [
    VerificationController,
    VerificationReviewController,
    GoogleAuthController,
]
