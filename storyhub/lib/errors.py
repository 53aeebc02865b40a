"""One exception hierarchy with stable machine codes.

Raise a :class:`StoryhubError` subclass anywhere in the domain; the HTTP layer
turns it into RFC 9457 problem details and the WebSocket gateway into an
``error`` event, both carrying ``code`` and a human sentence.
"""

from __future__ import annotations

from typing import Any, ClassVar


class StoryhubError(Exception):
    """Base of every error storyhub reports to a client."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "badRequest"
    title: ClassVar[str] = "Bad request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.extra = extra


class InvalidInput(StoryhubError):
    status = 400
    code = "invalidInput"
    title = "Invalid input"


class Unauthenticated(StoryhubError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(StoryhubError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(StoryhubError):
    status = 404
    code = "notFound"
    title = "Not found"


class Conflict(StoryhubError):
    status = 409
    code = "conflict"
    title = "Conflict"


class RateLimited(StoryhubError):
    status = 429
    code = "rateLimited"
    title = "Too many requests"


class Unavailable(StoryhubError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


def is_unique_violation(exc: BaseException) -> bool:
    """True when ``exc`` is a unique-constraint violation from either engine.

    Piccolo surfaces driver exceptions unwrapped: asyncpg's
    ``UniqueViolationError`` on PostgreSQL, ``sqlite3.IntegrityError`` on SQLite.
    """
    name = type(exc).__name__
    if name == "UniqueViolationError":
        return True
    if name == "IntegrityError":
        return "UNIQUE" in str(exc).upper()
    return False
