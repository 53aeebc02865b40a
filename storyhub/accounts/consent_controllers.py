"""HTTP glue for parental consent (``/consent``) and parents (``/parents``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody

from storyhub.accounts import consent
from storyhub.accounts.consent_schemas import (
    ChildCreate,
    ChildDetail,
    ChildList,
    ConsentGrant,
    ConsentOut,
    ConsentRequestAgain,
    ConsentRequested,
    ConsentRequestView,
    RevocationOut,
    ScopesChange,
)
from storyhub.accounts.controllers import provide_accounts
from storyhub.accounts.events import SESSIONS_REVOKED
from storyhub.accounts.principal import Principal
from storyhub.accounts.schemas import RegisteredUser, RegisterRequest
from storyhub.accounts.service import AccountService
from storyhub.lib.clients import client_ip
from storyhub.lib.crypto import FieldCipher
from storyhub.settings import Settings

PUBLIC = {"exclude_from_auth": True}


class ConsentController(Controller):
    """The parent's side of a consent link."""

    path = "/consent"
    tags = ["consent"]

    @get("/{token:str}", opt=PUBLIC)
    async def show(self, token: str, cipher: FieldCipher) -> ConsentRequestView:
        """What the link asks for: the child's display name, scopes, notice version."""
        return await consent.describe_link(cipher, token)

    @post("/{token:str}", status_code=200)
    async def grant(
        self,
        request: Request[Principal, Any, State],
        token: str,
        data: JSONBody[ConsentGrant],
        cipher: FieldCipher,
        settings: Settings,
    ) -> ConsentOut:
        """Grant consent as the logged-in adult the link was mailed to."""
        return await consent.grant(
            cipher,
            request.user,
            token,
            data.scopes,
            require_verified=settings.consent_requires_verified_parent,
            ip=client_ip(request),
        )


class ConsentRequestController(Controller):
    """A child still waiting for consent asks (again) for a parent's consent."""

    path = "/consent-requests"
    tags = ["consent"]

    @post("/", status_code=202)
    async def request_again(
        self,
        request: Request[Principal, Any, State],
        data: JSONBody[ConsentRequestAgain],
        settings: Settings,
        cipher: FieldCipher,
    ) -> ConsentRequested:
        """Mail a new consent link (older pending links stop working); 3 a day at most."""
        return await consent.request_again(
            settings, cipher, request.user, data.parent_email, client_ip(request)
        )


class ParentController(Controller):
    """A parent's linked children: create, view, change scopes, revoke."""

    path = "/parents/children"
    tags = ["parents"]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @post("/", status_code=201)
    async def create_child(
        self,
        request: Request[Principal, Any, State],
        data: JSONBody[ChildCreate],
        accounts: AccountService,
    ) -> RegisteredUser:
        """Create a child's account, linked to the caller, with consent recorded at once."""
        consent.require_adult(request.user)
        granted = consent.parse_scopes(data.scopes)
        email = data.email or consent.generated_child_email()
        registration = RegisterRequest(
            email=email,
            password=data.password,
            display_name=data.display_name,
            birth_date=data.birth_date,
            country=data.country,
        )
        return await accounts.register(registration, parent=request.user, parent_scopes=granted)

    @get("/")
    async def list_children(self, request: Request[Principal, Any, State]) -> ChildList:
        """The caller's linked children."""
        return ChildList(children=await consent.list_children(request.user.id))

    @get("/{child_id:uuid}")
    async def show_child(
        self, request: Request[Principal, Any, State], child_id: UUID
    ) -> ChildDetail:
        """One linked child's profile, consent and stories."""
        return await consent.child_detail(request.user.id, child_id)

    @patch("/{child_id:uuid}/consent")
    async def change_scopes(
        self,
        request: Request[Principal, Any, State],
        child_id: UUID,
        data: JSONBody[ScopesChange],
        cipher: FieldCipher,
    ) -> ConsentOut:
        """Change what the child may do (``participate`` stays; revoke to withdraw it)."""
        return await consent.change_scopes(
            cipher, request.user, child_id, data.scopes, client_ip(request)
        )

    @delete("/{child_id:uuid}/consent", status_code=200)
    async def revoke(
        self, request: Request[Principal, Any, State], child_id: UUID
    ) -> RevocationOut:
        """Withdraw consent: the child is deactivated, signed out and queued for deletion."""
        out = await consent.revoke(request.user, child_id, client_ip(request))
        request.app.emit(SESSIONS_REVOKED, user_id=child_id)
        return out


ROUTE_HANDLERS: list[Any] = [ConsentController, ConsentRequestController, ParentController]
