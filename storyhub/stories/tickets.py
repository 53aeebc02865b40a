"""Single-use WebSocket tickets for browsers, which cannot set headers on a WebSocket.

``POST /stories/{id}/ws-ticket`` issues a ticket; the WebSocket gateway
redeems it from ``?ticket=``. Contract for the gateway (keep stable)::

    from storyhub.stories.tickets import redeem_ticket, ticket_book

    user_id = await redeem_ticket(ticket_book(websocket.app.state), ticket, story_id)
    if user_id is None:
        ...  # refuse the upgrade: unknown, used, expired, or for another story

``redeem_ticket`` returns the user id exactly once per ticket; it does *not*
check that the user is still active or still a collaborator — load the
principal and authorize as for a bearer token.

A ticket is 256 random bits, bound to (user, story), valid for at most
:data:`TICKET_TTL_SECONDS` seconds, and stored only as its SHA-256. Taking it
is atomic: ``GETDEL`` on Valkey in services mode (any node may redeem),
``dict.pop`` in embedded mode (one event loop, so nothing interleaves). A
ticket presented for the wrong story is consumed and refused, so it cannot
be probed against several stories.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Final, Protocol
from uuid import UUID

from valkey.asyncio import Valkey

from storyhub.lib.crypto import token_hash

TICKET_TTL_SECONDS: Final = 60
MAX_TICKET_CHARS: Final = 128
"""Longer input is not one of ours; refuse it before hashing."""
KEY_PREFIX: Final = "storyhub:ws-ticket:"


class TicketBook(Protocol):
    """Where outstanding tickets live: put once, take at most once."""

    ttl_seconds: int

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds``."""

    async def take(self, key: str) -> bytes | None:
        """Remove and return the value under ``key``, atomically; ``None`` if absent or expired."""


class MemoryTicketBook:
    """Embedded mode: a dict in this process, owned by the app.

    Every ticket lives the same ``ttl_seconds``, so insertion order is expiry
    order and expired tickets are pruned from the front on each ``put``; at
    most ``max_tickets`` are kept (the oldest go first).
    """

    def __init__(
        self,
        ttl_seconds: int = TICKET_TTL_SECONDS,
        *,
        max_tickets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._max = max_tickets
        self._clock = clock
        self._entries: dict[str, tuple[float, bytes]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def put(self, key: str, value: bytes) -> None:
        now = self._clock()
        self._prune(now)
        while len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (now + self.ttl_seconds, value)

    async def take(self, key: str) -> bytes | None:
        # No await between lookup and removal: atomic on one event loop.
        entry = self._entries.pop(key, None)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def _prune(self, now: float) -> None:
        for key, (expires_at, _) in list(self._entries.items()):
            if expires_at > now:
                break
            del self._entries[key]


class ValkeyTicketBook:
    """Services mode: one key per ticket with a server-side expiry, taken with ``GETDEL``."""

    def __init__(self, client: Valkey, ttl_seconds: int = TICKET_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._client = client

    async def put(self, key: str, value: bytes) -> None:
        await self._client.set(KEY_PREFIX + key, value, ex=self.ttl_seconds)

    async def take(self, key: str) -> bytes | None:
        value: bytes | None = await self._client.getdel(KEY_PREFIX + key)
        return value


def build_ticket_book(valkey: Valkey | None, ttl_seconds: int = TICKET_TTL_SECONDS) -> TicketBook:
    """The book for this deployment: Valkey when configured, else in-process."""
    if not 1 <= ttl_seconds <= TICKET_TTL_SECONDS:
        raise ValueError(f"ticket lifetime must be 1..{TICKET_TTL_SECONDS} seconds")
    if valkey is None:
        return MemoryTicketBook(ttl_seconds)
    return ValkeyTicketBook(valkey, ttl_seconds)


def ticket_book(state: Any) -> TicketBook:
    """The app's ticket book (``create_app`` puts it on ``app.state.ws_tickets``)."""
    book: TicketBook = state.ws_tickets
    return book


async def issue_ticket(book: TicketBook, user_id: UUID, story_id: UUID) -> str:
    """A new single-use ticket letting ``user_id`` open ``story_id``'s WebSocket."""
    ticket = secrets.token_urlsafe(32)
    await book.put(token_hash(ticket), f"{user_id}:{story_id}".encode())
    return ticket


async def redeem_ticket(book: TicketBook, ticket: str, story_id: UUID) -> UUID | None:
    """The user id the ticket was issued to, once; ``None`` if unknown, used, expired
    or issued for another story (the ticket is spent either way)."""
    if not ticket or len(ticket) > MAX_TICKET_CHARS:
        return None
    value = await book.take(token_hash(ticket))
    if value is None:
        return None
    user_part, _, story_part = value.decode().partition(":")
    if story_part != str(story_id):
        return None
    return UUID(user_part)
