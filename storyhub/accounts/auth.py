"""Authentication middleware and guards.

Every HTTP route requires a valid bearer token unless its handler sets
``opt={"exclude_from_auth": True}``. The WebSocket gateway authenticates its
own upgrade (bearer header or single-use ticket) with :func:`authenticate`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import User
from storyhub.accounts.tokens import AccessClaims, TokenService
from storyhub.lib.errors import Forbidden, Unauthenticated

PUBLIC_PATHS = ["^/health/", "^/schema", "^/ws/"]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return bearer_from_header(connection.headers.get("authorization", ""))


def bearer_from_header(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, if it is one."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def load_principal(user_id: UUID) -> Principal | None:
    """The user as a :class:`Principal`, or ``None`` if there is no such user."""
    row = (
        await User.select(
            User.id,
            User.email,
            User.display_name,
            User.role,
            User.age_tier,
            User.status,
            User.auth_epoch,
        )
        .where(User.id == user_id)
        .first()
    )
    return None if row is None else msgspec.convert(row, Principal)


async def authenticate(tokens: TokenService, token: str) -> tuple[Principal, AccessClaims]:
    """Verify ``token`` and load its user; raise :class:`Unauthenticated` otherwise."""
    claims = tokens.verify(token)
    principal = await load_principal(claims.sub)
    if principal is None or principal.auth_epoch != claims.epoch:
        raise Unauthenticated("The access token has been revoked.", code="invalidToken")
    if principal.status == "deactivated":
        raise Unauthenticated("This account is deactivated.", code="accountDeactivated")
    return principal, claims


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets ``request.user`` (a :class:`Principal`) and ``request.auth`` (claims)."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise Unauthenticated("Send an access token as 'Authorization: Bearer <token>'.")
        tokens: TokenService = connection.app.state.tokens
        principal, claims = await authenticate(tokens, token)
        return AuthenticationResult(user=principal, auth=claims)


def _caller(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> Principal | None:
    """The authenticated caller, or ``None`` for Litestar's own ``OPTIONS`` answer.

    The auth middleware lets ``OPTIONS`` through without a user (browsers send
    preflights without credentials). Litestar's generated handler for it only
    lists the allowed methods, so guards let it be; any other handler reached
    without a user is refused (401), never a server error.
    """
    if "user" in connection.scope:
        principal: Principal = connection.user
        return principal
    generated_options = getattr(getattr(handler, "fn", None), "__name__", "") == "options_handler"
    if connection.scope.get("method") == "OPTIONS" and generated_options:
        return None
    raise Unauthenticated("Send an access token as 'Authorization: Bearer <token>'.")


def require_active(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: the caller's account is active (not waiting for parental consent)."""
    principal = _caller(connection, handler)
    if principal is None:
        return
    if principal.status != "active":
        raise Forbidden(
            "This account is waiting for a parent's consent and cannot do this yet.",
            code="consentRequired",
        )


def require_role(*roles: str) -> Any:
    """Guard factory: the caller has one of ``roles``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        principal = _caller(connection, handler)
        if principal is None:
            return
        if principal.role not in roles:
            raise Forbidden("You do not have permission to do this.")

    return guard
