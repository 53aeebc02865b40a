"""What an export holds, on each real database: the account's own rows, not others'."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storyhub.accounts.service import birth_date_context
from storyhub.accounts.tables import AgeVerificationRequest, RefreshToken, User
from storyhub.audit.tables import AuditEvent
from storyhub.books.tables import DigitalBook
from storyhub.datarights.export import export_account
from storyhub.jobs.tables import Job
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import NotFound
from storyhub.media.tables import MediaAsset
from storyhub.stories.memory_tables import LoreEntry, PinnedFact
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story
from tests.conftest import TEST_SECRET

CIPHER = FieldCipher(TEST_SECRET)


async def _user(name: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    await User.insert(
        User(
            id=user_id,
            email=f"{name.lower()}-{user_id.hex[:8]}@example.test",
            password_hash="$argon2id$v=19$secret",
            display_name=name,
            birth_date_enc=CIPHER.seal("2012-03-04", context=birth_date_context(user_id)),
            age_tier="teen",
            google_subject_hash=user_id.hex * 2,
        )
    )
    return user_id


async def test_an_export_holds_what_the_account_wrote_and_nothing_of_others(db: Any) -> None:
    me, other = await _user("Sam"), await _user("Other")
    story = uuid.uuid4()
    await Story.insert(
        Story(id=story, title="Shared", premise="P.", creator=other, age_rating="allAges")
    )
    await Collaborator.insert(
        Collaborator(story=story, user=other, role="author"),
        Collaborator(story=story, user=me, role="editor"),
    )
    await Segment.insert(
        Segment(story=story, seq=1, author=other, content="Other's line."),
        Segment(story=story, seq=2, author=me, content="My line.", revision=1),
    )
    await ChatMessage.insert(
        ChatMessage(story=story, author=me, content="my chat"),
        ChatMessage(story=story, author=other, content="their chat"),
    )
    await PinnedFact.insert(
        PinnedFact(id=uuid.uuid4(), story=story, text="my fact", position=0, created_by=me),
        PinnedFact(id=uuid.uuid4(), story=story, text="their fact", position=1, created_by=other),
    )
    await LoreEntry.insert(
        LoreEntry(
            id=uuid.uuid4(),
            story=story,
            name="Dragon",
            triggers=["dragon"],
            text="my lore",
            created_by=me,
        )
    )
    cover = uuid.uuid4()
    await MediaAsset.insert(
        MediaAsset(
            id=cover,
            story=story,
            seq=0,
            kind="cover",
            prompt="p",
            provider="offline",
            model="m",
            blob_key="secret/key.png",
            content_type="image/png",
            requested_by=me,
        ),
        MediaAsset(
            id=uuid.uuid4(),
            story=story,
            seq=1,
            kind="image",
            prompt="p",
            provider="offline",
            model="m",
            blob_key="k2",
            content_type="image/png",
            requested_by=other,
        ),
    )
    book = uuid.uuid4()
    await DigitalBook.insert(
        DigitalBook(id=book, story=story, requested_by=me, format="epub", status="done")
    )
    job = uuid.uuid4()
    await Job.insert(Job(id=job, owner=me, story_id=story, kind="media", status="done"))
    now = datetime.now(UTC)
    await RefreshToken.insert(
        RefreshToken(
            family_id=uuid.uuid4(),
            user=me,
            token_hash="t" * 64,
            expires_at=now + timedelta(days=1),
        )
    )
    verification = uuid.uuid4()
    await AgeVerificationRequest.insert(
        AgeVerificationRequest(
            id=verification,
            user=me,
            method="idDocument",
            status="inReview",
            evidence_key_enc="sealed-evidence",
            history=[],
        )
    )
    await AuditEvent.insert(
        AuditEvent(actor_id=me, action="story.joined", subject=f"story:{story}", ip="192.0.2.8"),
        AuditEvent(
            actor_id=other,
            action="collaborator.added",
            subject=f"user:{me}",
            ip="198.51.100.1",
            data={"role": "editor"},
        ),
        AuditEvent(actor_id=other, action="story.created", subject=f"story:{story}", ip="1.2.3.4"),
    )

    document = await export_account(CIPHER, me)

    assert document.account.birth_date == "2012-03-04"
    assert document.account.google_linked
    assert [(s.id, s.role) for s in document.stories] == [(story, "editor")]
    assert [(s.seq, s.content, s.revision) for s in document.segments] == [(2, "My line.", 1)]
    assert [c.content for c in document.chat_messages] == ["my chat"]
    assert sorted((n.kind, n.text) for n in document.narrator_notes) == [
        ("fact", "my fact"),
        ("lore", "my lore"),
    ]
    assert [(m.id, m.seq, m.kind) for m in document.media_requested] == [(cover, None, "cover")]
    assert [b.id for b in document.books_requested] == [book]
    assert [j.id for j in document.jobs] == [job]
    assert len(document.sessions) == 1
    assert [(v.id, v.status) for v in document.verifications] == [(verification, "inReview")]
    events = {e.action: e for e in document.audit_events}
    assert set(events) == {"story.joined", "collaborator.added"}
    assert (events["story.joined"].ip, events["story.joined"].by_this_account) == (
        "192.0.2.8",
        True,
    )
    assert (events["collaborator.added"].ip, events["collaborator.added"].by_this_account) == (
        None,
        False,
    )

    import msgspec

    text = msgspec.json.encode(document).decode()
    for absent in (
        "$argon2",
        "t" * 64,
        me.hex * 2,
        "sealed-evidence",
        "secret/key.png",
        "Other's line",
        "their chat",
        "their fact",
        "1.2.3.4",
        "198.51.100.1",
    ):
        assert absent not in text, absent


async def test_an_unknown_account_is_not_found(db: Any) -> None:
    with pytest.raises(NotFound):
        await export_account(CIPHER, uuid.uuid4())
