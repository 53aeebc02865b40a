"""HTTP endpoints for accounts: ``/auth/*`` and ``/users/me``. Glue only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import JSONBody

from storyhub.accounts.auth import require_active
from storyhub.accounts.events import SESSIONS_REVOKED
from storyhub.accounts.principal import Principal
from storyhub.accounts.schemas import (
    LoginRequest,
    PasswordChangeRequest,
    Profile,
    ProfileUpdate,
    RefreshRequest,
    RegisteredUser,
    RegisterRequest,
    TokenPair,
)
from storyhub.accounts.service import AccountService
from storyhub.accounts.tokens import TokenService
from storyhub.lib.clients import client_ip
from storyhub.lib.crypto import FieldCipher
from storyhub.settings import Settings

PUBLIC = {"exclude_from_auth": True}


def provide_accounts(
    request: Request[Any, Any, State],
    settings: Settings,
    cipher: FieldCipher,
    tokens: TokenService,
) -> AccountService:
    """An :class:`AccountService` for this request, wired to the app's event bus."""
    app = request.app
    return AccountService(
        settings,
        cipher,
        tokens,
        ip=client_ip(request),
        on_sessions_revoked=lambda user_id: app.emit(SESSIONS_REVOKED, user_id=user_id),
    )


class AuthController(Controller):
    """Registration and the token lifecycle. These routes need no access token."""

    path = "/auth"
    tags = ["auth"]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @post("/register", status_code=201, opt=PUBLIC)
    async def register(
        self, data: JSONBody[RegisterRequest], accounts: AccountService
    ) -> RegisteredUser:
        """Create an account; a child below the consent age starts ``pendingConsent``."""
        return await accounts.register(data)

    @post("/login", status_code=200, opt=PUBLIC)
    async def login(self, data: JSONBody[LoginRequest], accounts: AccountService) -> TokenPair:
        """Exchange email and password for an access and a refresh token."""
        return await accounts.login(data.email, data.password)

    @post("/refresh", status_code=200, opt=PUBLIC)
    async def refresh(self, data: JSONBody[RefreshRequest], accounts: AccountService) -> TokenPair:
        """Spend a refresh token for a new pair; a reused one signs its whole family out."""
        return await accounts.refresh(data.refresh_token)

    @post("/logout", status_code=204, opt=PUBLIC)
    async def logout(self, data: JSONBody[RefreshRequest], accounts: AccountService) -> None:
        """Revoke the refresh-token family the given token belongs to."""
        await accounts.logout(data.refresh_token)


class MeController(Controller):
    """The caller's own account."""

    path = "/users/me"
    tags = ["users"]
    dependencies = {"accounts": Provide(provide_accounts, sync_to_thread=False)}

    @get("/")
    async def show(
        self, request: Request[Principal, Any, State], accounts: AccountService
    ) -> Profile:
        """The caller's profile (also for accounts waiting for parental consent)."""
        return await accounts.profile(request.user.id)

    @patch("/", guards=[require_active])
    async def update(
        self,
        request: Request[Principal, Any, State],
        data: JSONBody[ProfileUpdate],
        accounts: AccountService,
    ) -> Profile:
        """Change the display name or preferences (active accounts only)."""
        return await accounts.update_profile(request.user.id, data)

    @post("/password", status_code=200)
    async def change_password(
        self,
        request: Request[Principal, Any, State],
        data: JSONBody[PasswordChangeRequest],
        accounts: AccountService,
    ) -> TokenPair:
        """Change the password: every session is signed out and a fresh pair is returned."""
        return await accounts.change_password(
            request.user, data.current_password, data.new_password
        )


ROUTE_HANDLERS = [AuthController, MeController]
