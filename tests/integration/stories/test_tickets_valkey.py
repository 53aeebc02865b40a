"""WebSocket tickets in services mode: a real Redis, GETDEL, server-side expiry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from valkey.asyncio import Valkey

from storyhub.lib.crypto import token_hash
from storyhub.lib.kv import open_valkey
from storyhub.stories.tickets import (
    KEY_PREFIX,
    MemoryTicketBook,
    ValkeyTicketBook,
    issue_ticket,
    redeem_ticket,
)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[Valkey]:
    valkey = open_valkey(redis_url)
    yield valkey
    await valkey.aclose()


class TestValkeyTickets:
    async def test_a_ticket_redeems_once(self, client: Valkey) -> None:
        book = ValkeyTicketBook(client)
        user, story = uuid.uuid4(), uuid.uuid4()
        ticket = await asyncio.wait_for(issue_ticket(book, user, story), 5)
        assert await redeem_ticket(book, ticket, story) == user
        assert await redeem_ticket(book, ticket, story) is None

    async def test_only_the_hash_is_stored_with_a_server_side_expiry(self, client: Valkey) -> None:
        book = ValkeyTicketBook(client)
        ticket = await issue_ticket(book, uuid.uuid4(), uuid.uuid4())
        key = KEY_PREFIX + token_hash(ticket)
        assert await client.exists(KEY_PREFIX + ticket) == 0
        assert 0 < await client.ttl(key) <= 60

    async def test_an_expired_ticket_is_refused(self, client: Valkey) -> None:
        book = ValkeyTicketBook(client, ttl_seconds=1)
        story = uuid.uuid4()
        ticket = await issue_ticket(book, uuid.uuid4(), story)
        await asyncio.sleep(1.3)
        assert await redeem_ticket(book, ticket, story) is None

    async def test_a_ticket_for_another_story_is_refused_and_spent(self, client: Valkey) -> None:
        book = ValkeyTicketBook(client)
        story = uuid.uuid4()
        ticket = await issue_ticket(book, uuid.uuid4(), story)
        assert await redeem_ticket(book, ticket, uuid.uuid4()) is None
        assert await redeem_ticket(book, ticket, story) is None

    async def test_concurrent_redeems_succeed_exactly_once(self, redis_url: str) -> None:
        """Two nodes racing for one ticket: GETDEL lets only one win."""
        clients = [open_valkey(redis_url) for _ in range(8)]
        try:
            story = uuid.uuid4()
            user = uuid.uuid4()
            ticket = await issue_ticket(ValkeyTicketBook(clients[0]), user, story)
            results = await asyncio.wait_for(
                asyncio.gather(
                    *(redeem_ticket(ValkeyTicketBook(c), ticket, story) for c in clients)
                ),
                10,
            )
            assert results.count(user) == 1
            assert results.count(None) == len(clients) - 1
        finally:
            for c in clients:
                await c.aclose()


class TestMemoryTicketsConcurrently:
    async def test_concurrent_redeems_succeed_exactly_once(self) -> None:
        book = MemoryTicketBook()
        story, user = uuid.uuid4(), uuid.uuid4()
        ticket = await issue_ticket(book, user, story)
        results = await asyncio.gather(*(redeem_ticket(book, ticket, story) for _ in range(20)))
        assert results.count(user) == 1
