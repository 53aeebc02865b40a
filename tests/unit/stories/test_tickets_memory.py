"""The embedded ticket book: single use, expiry, binding to a story, bounded size."""

from __future__ import annotations

import uuid

import pytest

from storyhub.stories.tickets import (
    TICKET_TTL_SECONDS,
    MemoryTicketBook,
    build_ticket_book,
    issue_ticket,
    redeem_ticket,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def book(clock: FakeClock) -> MemoryTicketBook:
    return MemoryTicketBook(30, clock=clock)


class TestMemoryTickets:
    async def test_a_ticket_redeems_once_for_its_user(self, book: MemoryTicketBook) -> None:
        user, story = uuid.uuid4(), uuid.uuid4()
        ticket = await issue_ticket(book, user, story)
        assert await redeem_ticket(book, ticket, story) == user
        assert await redeem_ticket(book, ticket, story) is None

    async def test_a_ticket_for_another_story_is_refused_and_spent(
        self, book: MemoryTicketBook
    ) -> None:
        user, story = uuid.uuid4(), uuid.uuid4()
        ticket = await issue_ticket(book, user, story)
        assert await redeem_ticket(book, ticket, uuid.uuid4()) is None
        assert await redeem_ticket(book, ticket, story) is None

    async def test_an_expired_ticket_is_refused(
        self, book: MemoryTicketBook, clock: FakeClock
    ) -> None:
        story = uuid.uuid4()
        ticket = await issue_ticket(book, uuid.uuid4(), story)
        clock.now += 30.0
        assert await redeem_ticket(book, ticket, story) is None

    async def test_a_ticket_just_before_expiry_works(
        self, book: MemoryTicketBook, clock: FakeClock
    ) -> None:
        user, story = uuid.uuid4(), uuid.uuid4()
        ticket = await issue_ticket(book, user, story)
        clock.now += 29.9
        assert await redeem_ticket(book, ticket, story) == user

    async def test_unknown_empty_and_oversized_tickets_are_refused(
        self, book: MemoryTicketBook
    ) -> None:
        story = uuid.uuid4()
        assert await redeem_ticket(book, "nope", story) is None
        assert await redeem_ticket(book, "", story) is None
        assert await redeem_ticket(book, "x" * 10_000, story) is None

    async def test_only_a_hash_of_the_ticket_is_stored(self, book: MemoryTicketBook) -> None:
        ticket = await issue_ticket(book, uuid.uuid4(), uuid.uuid4())
        assert ticket not in book._entries
        assert all(ticket.encode() not in value for _, value in book._entries.values())

    async def test_expired_tickets_are_pruned_on_issue(
        self, book: MemoryTicketBook, clock: FakeClock
    ) -> None:
        for _ in range(5):
            await issue_ticket(book, uuid.uuid4(), uuid.uuid4())
        clock.now += 31
        await issue_ticket(book, uuid.uuid4(), uuid.uuid4())
        assert len(book) == 1

    async def test_the_book_is_bounded_and_drops_the_oldest(self, clock: FakeClock) -> None:
        book = MemoryTicketBook(30, max_tickets=3, clock=clock)
        story = uuid.uuid4()
        first = await issue_ticket(book, uuid.uuid4(), story)
        for _ in range(3):
            await issue_ticket(book, uuid.uuid4(), story)
        assert len(book) == 3
        assert await redeem_ticket(book, first, story) is None

    def test_lifetime_is_capped_at_sixty_seconds(self) -> None:
        assert build_ticket_book(None).ttl_seconds == TICKET_TTL_SECONDS == 60
        with pytest.raises(ValueError, match="lifetime"):
            build_ticket_book(None, ttl_seconds=61)
