"""Retention against each real database: a revoked child's data goes, other stories stay.

The child is made and revoked through the real consent service; files live
in a real local blob store. The database is shared with other tests of the
same worker, so assertions name this test's rows, never table totals.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from storyhub.accounts import consent
from storyhub.accounts.principal import Principal
from storyhub.accounts.schemas import RegisterRequest
from storyhub.accounts.service import AccountService
from storyhub.accounts.tables import (
    AgeVerificationRequest,
    ConsentRecord,
    MailOutbox,
    ParentalLink,
    RefreshToken,
    User,
)
from storyhub.accounts.tokens import TokenService
from storyhub.accounts.verification import evidence_context
from storyhub.audit.tables import AuditEvent
from storyhub.books.tables import DigitalBook
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import LocalBlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.mail import outbox
from storyhub.mail.message import MAX_ATTEMPTS
from storyhub.media.tables import MediaAsset
from storyhub.retention import service
from storyhub.retention.policy import REMOVED_TEXT, TOMBSTONE_NAME
from storyhub.safety.tables import ModerationItem
from storyhub.settings import RetentionSettings, Settings, load_settings
from storyhub.stories.memory_tables import LoreEntry, PinnedFact
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story
from tests.conftest import TEST_SECRET

PASSWORD = "correct horse battery staple"
CIPHER = FieldCipher(TEST_SECRET)
RETENTION = RetentionSettings()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_SECRET_KEY": TEST_SECRET,
            "STORYHUB_PASSWORD_PROFILE": "test",
        }
    )


@pytest.fixture
def accounts(settings: Settings) -> AccountService:
    tokens = TokenService(TEST_SECRET, issuer="storyhub", audience="storyhub-api", ttl_seconds=900)
    return AccountService(settings, CIPHER, tokens)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years, day=1)


async def _register(
    accounts: AccountService, years: int, name: str, parent_email: str | None = None, **kw: Any
) -> tuple[UUID, str]:
    email = f"{uuid.uuid4().hex[:12]}@example.test"
    made = await accounts.register(
        RegisterRequest(
            email=email,
            password=PASSWORD,
            display_name=name,
            birth_date=_years_ago(years),
            country="US",
            parent_email=parent_email,
        ),
        **kw,
    )
    return made.id, email


async def _principal(user_id: UUID) -> Principal:
    from storyhub.accounts.auth import load_principal

    principal = await load_principal(user_id)
    assert principal is not None
    return principal


async def _story(owner: UUID, members: list[tuple[UUID, str]], title: str) -> UUID:
    story_id = uuid.uuid4()
    await Story.insert(
        Story(id=story_id, title=title, premise="Once.", creator=owner, age_rating="allAges")
    )
    for user, role in [(owner, "author"), *members]:
        await Collaborator.insert(Collaborator(story=story_id, user=user, role=role))
    return story_id


async def _segment(story: UUID, seq: int, author: UUID | None, text: str) -> None:
    await Segment.insert(
        Segment(
            story=story,
            seq=seq,
            author=author,
            content=text,
            client_msg_id=uuid.uuid4().hex,
            image_url=f"/stories/{story}/media/{seq}" if author else None,
        )
    )


async def _asset(
    blobs: LocalBlobStore, story: UUID, seq: int, requested_by: UUID | None = None
) -> str:
    key = f"media/{story}/{seq}-image.png"
    await blobs.put(key, b"\x89PNG fake", "image/png")
    await MediaAsset.insert(
        MediaAsset(
            story=story,
            seq=seq,
            kind="image",
            prompt="a picture of the text",
            provider="offline",
            model="test",
            blob_key=key,
            content_type="image/png",
            requested_by=requested_by,
        )
    )
    return key


async def _memory(story: UUID, by: UUID, text: str) -> None:
    await PinnedFact.insert(
        PinnedFact(id=uuid.uuid4(), story=story, text=text, position=0, created_by=by)
    )
    await LoreEntry.insert(
        LoreEntry(
            id=uuid.uuid4(),
            story=story,
            name=f"lore {text}",
            triggers=["x"],
            text=text,
            created_by=by,
        )
    )


async def _book(blobs: LocalBlobStore, story: UUID, by: UUID) -> str:
    key = f"books/{story}/{uuid.uuid4().hex}.epub"
    await blobs.put(key, b"PK book", "application/epub+zip")
    await DigitalBook.insert(
        DigitalBook(story=story, requested_by=by, format="epub", status="done", blob_key=key)
    )
    return key


class World:
    """Everything the deletion test seeds, by name."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}


async def _seed(accounts: AccountService, blobs: LocalBlobStore) -> World:
    w = World()
    parent_id, _ = await _register(accounts, 40, "Parent")
    w.parent = await _principal(parent_id)
    w.child, w.child_email = await _register(
        accounts, 9, "Kiddo Secretname", parent=w.parent, parent_scopes=frozenset({"participate"})
    )
    w.other, _ = await _register(accounts, 35, "Other Grownup")
    w.third, _ = await _register(accounts, 36, "Third Grownup")

    # The child's own story, nobody else wrote in it: goes entirely.
    w.alone = await _story(w.child, [(w.third, "viewer")], "Kiddo's dragon")
    await _segment(w.alone, 1, w.child, "My dragon lives at 12 Elm Street.")
    await _segment(w.alone, 2, None, "The narrator continues.")
    await ChatMessage.insert(ChatMessage(story=w.alone, author=w.child, content="hi"))
    w.keys["aloneAsset"] = await _asset(blobs, w.alone, 1)
    w.keys["aloneBook"] = await _book(blobs, w.alone, w.child)
    await ModerationItem.insert(
        ModerationItem(
            story=w.alone, author=None, source="aiText", content="sealed", verdict="block"
        )
    )

    # Someone else's story the child wrote in: stays, in order, the child's part erased.
    w.shared = await _story(w.other, [(w.child, "author")], "Other's castle")
    await _segment(w.shared, 1, w.other, "The castle stood tall.")
    await _segment(w.shared, 2, w.child, "Kiddo Secretname opened the gate.")
    await _segment(w.shared, 3, w.other, "And then the rain came.")
    w.keys["sharedChildAsset"] = await _asset(blobs, w.shared, 2)
    # The child asked for the picture of the other's segment: it stays, unattributed.
    w.keys["sharedOtherAsset"] = await _asset(blobs, w.shared, 1, requested_by=w.child)
    await _memory(w.shared, w.child, "Kiddo Secretname's cat is called Tom.")
    await _memory(w.shared, w.other, "The castle has four towers.")
    await _memory(w.alone, w.child, "The dragon is green.")
    await AuditEvent.insert(
        AuditEvent(actor_id=w.child, action="story.created", ip="203.0.113.9"),
        AuditEvent(actor_id=w.other, action="story.created", ip="198.51.100.7"),
    )
    w.keys["sharedBook"] = await _book(blobs, w.shared, w.other)
    await ChatMessage.insert(ChatMessage(story=w.shared, author=w.child, content="my turn!"))
    await ChatMessage.insert(ChatMessage(story=w.shared, author=w.other, content="go on"))
    await ModerationItem.insert(
        ModerationItem(
            story=w.shared, author=w.child, source="turn", content="sealed", verdict="block"
        )
    )

    # The child's story where the third user wrote too: stays and passes to them.
    w.handed = await _story(w.child, [(w.other, "viewer"), (w.third, "author")], "Shared forest")
    await _segment(w.handed, 1, w.child, "Kiddo's forest.")
    await _segment(w.handed, 2, w.third, "Third adds a fox.")

    # Sessions, an ID document, mail to the child, another job of the child.
    now = datetime.now(UTC)
    await RefreshToken.insert(
        RefreshToken(
            family_id=uuid.uuid4(),
            user=w.child,
            token_hash=uuid.uuid4().hex * 2,
            expires_at=now + timedelta(days=30),
        )
    )
    request_id = uuid.uuid4()
    w.keys["document"] = f"verifications/{request_id}/{uuid.uuid4().hex}.bin"
    await blobs.put(w.keys["document"], b"sealed document", "application/octet-stream")
    await AgeVerificationRequest.insert(
        AgeVerificationRequest(
            id=request_id,
            user=w.child,
            method="idDocument",
            status="inReview",
            evidence_key_enc=CIPHER.seal(
                json.dumps({"key": w.keys["document"], "contentType": "image/png", "size": 1}),
                context=evidence_context(request_id),
            ),
            history=[],
        )
    )
    w.mail_to_child = await outbox.enqueue(CIPHER, w.child_email, "Hello", "Body for the child")
    w.mail_to_other = await outbox.enqueue(CIPHER, "someone@example.test", "Hi", "Other body")
    w.media_job = uuid.uuid4()
    await Job.insert(Job(id=w.media_job, owner=w.child, kind="media", status="done"))
    return w


async def _ids(table: Any, condition: Any) -> list[Any]:
    return [row["id"] for row in await table.select(table.id).where(condition)]


class TestAccountDeletion:
    async def test_revoked_child_is_deleted_and_other_stories_keep_their_order(
        self, db: Any, accounts: AccountService, blobs: LocalBlobStore
    ) -> None:
        w = await _seed(accounts, blobs)
        revoked = await consent.revoke(w.parent, w.child, None)
        job_id = revoked.deletion_job_id

        # Inside the grace period nothing happens.
        report = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs)
        assert job_id not in [o.job_id for o in report]
        assert (await Job.select(Job.status).where(Job.id == job_id).first()) == {
            "status": "queued"
        }

        # A dry run a day later reports the deletion and changes nothing.
        later = datetime.now(UTC) + timedelta(hours=RETENTION.deletion_grace_hours, minutes=1)
        dry = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs, now=later, dry_run=True)
        [planned] = [o for o in dry if o.job_id == job_id]
        assert planned.dry_run
        assert planned.user_id == w.child
        assert planned.counts is not None
        assert planned.counts["storiesDeleted"] == 1
        assert planned.counts["storiesTransferred"] == 1
        assert planned.counts["segmentsErased"] == 2
        assert planned.counts["mailDeleted"] == 1
        assert await Story.exists().where(Story.id == w.alone)
        assert all([await blobs.exists(key) for key in w.keys.values()])
        assert (await Job.select(Job.status).where(Job.id == job_id).first()) == {
            "status": "queued"
        }

        report = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs, now=later)
        [done] = [o for o in report if o.job_id == job_id]
        assert not done.dry_run
        assert done.counts == planned.counts
        assert done.counts is not None
        assert done.counts["mediaAssetsDeleted"] == 2  # alone seq 1, shared seq 2
        assert done.counts["booksDeleted"] == 2
        assert done.counts["blobsDeleted"] == 5
        assert done.counts["verificationRequestsDeleted"] == 1
        assert done.counts["memoryEntriesDeleted"] == 2  # shared fact + lore
        assert done.counts["mediaRequestsForgotten"] == 1
        assert done.counts["auditAddressesErased"] >= 1

        # The child's story alone: gone with everything in it.
        for table, column in (
            (Segment, Segment.story),
            (ChatMessage, ChatMessage.story),
            (MediaAsset, MediaAsset.story),
            (DigitalBook, DigitalBook.story),
            (ModerationItem, ModerationItem.story),
            (Collaborator, Collaborator.story),
            (PinnedFact, PinnedFact.story),
            (LoreEntry, LoreEntry.story),
        ):
            assert not await table.exists().where(column == w.alone), table
        assert not await Story.exists().where(Story.id == w.alone)

        # The other's story: same seqs, the child's text and media erased.
        segments = (
            await Segment.select(
                Segment.seq,
                Segment.author,
                Segment.content,
                Segment.image_url,
                Segment.client_msg_id,
            )
            .where(Segment.story == w.shared)
            .order_by(Segment.seq)
        )
        assert [s["seq"] for s in segments] == [1, 2, 3]
        assert [s["content"] for s in segments] == [
            "The castle stood tall.",
            REMOVED_TEXT,
            "And then the rain came.",
        ]
        erased = segments[1]
        assert erased["image_url"] is None
        assert erased["client_msg_id"] is None
        assert erased["author"] == w.child  # the tombstone: not shown as the AI's
        assert segments[0]["image_url"] is not None
        assert await MediaAsset.select(MediaAsset.seq, MediaAsset.requested_by).where(
            MediaAsset.story == w.shared
        ) == [{"seq": 1, "requested_by": None}]
        # What the child told the narrator goes; the other's fact stays.
        assert await PinnedFact.select(PinnedFact.text).where(PinnedFact.story == w.shared) == [
            {"text": "The castle has four towers."}
        ]
        assert await LoreEntry.select(LoreEntry.text).where(LoreEntry.story == w.shared) == [
            {"text": "The castle has four towers."}
        ]
        # The audit trail keeps what happened, not from where; others' addresses stay.
        assert not await AuditEvent.exists().where(
            (AuditEvent.actor_id == w.child) & AuditEvent.ip.is_not_null()
        )
        assert await AuditEvent.select(AuditEvent.ip).where(
            (AuditEvent.actor_id == w.other) & (AuditEvent.action == "story.created")
        ) == [{"ip": "198.51.100.7"}]
        assert await blobs.exists(w.keys["sharedOtherAsset"])
        assert not await blobs.exists(w.keys["sharedChildAsset"])
        assert not await DigitalBook.exists().where(DigitalBook.story == w.shared)
        assert [
            c["content"]
            for c in await ChatMessage.select(ChatMessage.content).where(
                ChatMessage.story == w.shared
            )
        ] == ["go on"]
        assert not await ModerationItem.exists().where(ModerationItem.author == w.child)
        assert await Collaborator.select(Collaborator.user).where(
            Collaborator.story == w.shared
        ) == [{"user": w.other}]

        # The child's shared story: kept, owned by the one who wrote in it.
        handed = await Story.select(Story.creator).where(Story.id == w.handed).first()
        assert handed == {"creator": w.third}
        assert [
            s["content"]
            for s in await Segment.select(Segment.content)
            .where(Segment.story == w.handed)
            .order_by(Segment.seq)
        ] == [REMOVED_TEXT, "Third adds a fox."]

        # Account data: gone, the user row a tombstone.
        for table, column in (
            (RefreshToken, RefreshToken.user),
            (ConsentRecord, ConsentRecord.child),
            (ParentalLink, ParentalLink.child),
            (AgeVerificationRequest, AgeVerificationRequest.user),
            (Collaborator, Collaborator.user),
            (ChatMessage, ChatMessage.author),
        ):
            assert not await table.exists().where(column == w.child), table
        for key in ("aloneAsset", "aloneBook", "sharedBook", "document"):
            assert not await blobs.exists(w.keys[key]), key
        assert await _ids(MailOutbox, MailOutbox.id.is_in([w.mail_to_child, w.mail_to_other])) == [
            w.mail_to_other
        ]
        assert not await Job.exists().where(Job.id == w.media_job)
        user = await User.select().where(User.id == w.child).first()
        assert user is not None
        assert user["display_name"] == TOMBSTONE_NAME
        assert user["email"] != w.child_email
        assert user["email"].endswith(".invalid")
        assert user["birth_date_enc"] == ""
        assert user["password_hash"] is None
        assert user["status"] == "deactivated"

        job = await Job.select().where(Job.id == job_id).output(load_json=True).first()
        assert job is not None
        assert job["status"] == "done"
        assert job["result"]["deleted"] == done.counts
        assert job["result"]["reason"] == "consentRevoked"

        [event] = await AuditEvent.select().where(
            (AuditEvent.action == "account.deleted") & (AuditEvent.subject == f"user:{w.child}")
        )
        text = json.dumps(event, default=str)
        for personal in (w.child_email, "Kiddo", "Secretname", "Elm Street"):
            assert personal not in text
        assert event["ip"] is None

        # Again: nothing left to do.
        again = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs, now=later)
        assert job_id not in [o.job_id for o in again]
        assert not [o for o in again if o.kind == "accountDeleted"]
        assert all(o.count == 0 for o in again), again


class TestSchedules:
    async def test_each_purge_takes_only_what_is_past_its_period(
        self, db: Any, accounts: AccountService, blobs: LocalBlobStore
    ) -> None:
        now = datetime.now(UTC)
        ago = lambda days: now - timedelta(days=days)  # noqa: E731
        user, _ = await _register(accounts, 30, "Tokens")

        def token(**kw: Any) -> RefreshToken:
            return RefreshToken(
                family_id=uuid.uuid4(), user=user, token_hash=uuid.uuid4().hex * 2, **kw
            )

        old_expired, recent_expired, old_revoked, used_live = (
            token(expires_at=ago(40)),
            token(expires_at=ago(10)),
            token(expires_at=now + timedelta(days=5), revoked_at=ago(40)),
            token(expires_at=now + timedelta(days=5), used_at=ago(40)),
        )
        await RefreshToken.insert(old_expired, recent_expired, old_revoked, used_live)

        def mail(**kw: Any) -> MailOutbox:
            return MailOutbox(id=uuid.uuid4(), recipient_enc="x", subject="s", body="", **kw)

        mails = {
            "oldSent": mail(sent=True, created_at=ago(40)),
            "newSent": mail(sent=True, created_at=ago(10)),
            "oldFailed": mail(attempts=MAX_ATTEMPTS, created_at=ago(70)),
            "newFailed": mail(attempts=MAX_ATTEMPTS, created_at=ago(40)),
            "oldQueued": mail(attempts=1, created_at=ago(400), next_attempt_at=now + timedelta(1)),
        }
        await MailOutbox.insert(*mails.values())

        def item(**kw: Any) -> ModerationItem:
            return ModerationItem(
                id=uuid.uuid4(), source="chat", content="sealed", verdict="block", **kw
            )

        items = {
            "oldUpheld": item(status="upheld", decided_at=ago(40)),
            "newReleased": item(status="released", decided_at=ago(10)),
            "oldEscalated": item(status="escalated", created_at=ago(400)),
        }
        await ModerationItem.insert(*items.values())

        async def request(status: str, updated: datetime) -> tuple[UUID, str]:
            request_id = uuid.uuid4()
            key = f"verifications/{request_id}/doc.bin"
            await blobs.put(key, b"doc", "application/octet-stream")
            await AgeVerificationRequest.insert(
                AgeVerificationRequest(
                    id=request_id,
                    user=user,
                    method="idDocument",
                    status=status,
                    evidence_key_enc=CIPHER.seal(
                        json.dumps({"key": key}), context=evidence_context(request_id)
                    ),
                    history=[],
                    updated_at=updated,
                )
            )
            return request_id, key

        stale, stale_key = await request("inReview", ago(40))
        fresh, fresh_key = await request("inReview", ago(10))
        leftover, leftover_key = await request("approved", ago(1))

        jobs = {
            "oldDone": Job(
                id=uuid.uuid4(), owner=user, kind="media", status="done", updated_at=ago(100)
            ),
            "oldStuck": Job(
                id=uuid.uuid4(), owner=user, kind="media", status="running", updated_at=ago(100)
            ),
            "newDone": Job(
                id=uuid.uuid4(), owner=user, kind="book", status="done", updated_at=ago(10)
            ),
            "oldDeletionDone": Job(
                id=uuid.uuid4(),
                owner=user,
                kind="accountDeletion",
                status="done",
                updated_at=ago(100),
            ),
        }
        await Job.insert(*jobs.values())

        marker = uuid.uuid4().hex
        await AuditEvent.insert(
            AuditEvent(action="test.old", subject=marker, ip="192.0.2.1", at=ago(100)),
            AuditEvent(action="test.new", subject=marker, ip="192.0.2.2", at=ago(10)),
        )

        pending, _ = await _register(accounts, 8, "Waiting", "waiting-parent@example.test")
        await User.update({User.created_at: ago(31)}).where(User.id == pending)

        dry = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs, now=now, dry_run=True)
        counts = {o.kind: o.count for o in dry}
        assert counts["sessionRecords"] >= 2
        assert counts["sentMail"] >= 1
        assert counts["verificationDocuments"] >= 2
        assert counts["unconsentedAccountsQueued"] >= 1
        assert counts["auditAddresses"] >= 1
        assert await RefreshToken.count().where(RefreshToken.user == user) == 4
        assert not await AuditEvent.exists().where(
            (AuditEvent.subject == marker) & AuditEvent.ip.is_null()
        )
        assert await blobs.exists(stale_key)

        report = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs, now=now)
        assert {o.kind for o in report} >= {
            "sessionRecords",
            "sentMail",
            "failedMail",
            "moderationTexts",
            "verificationDocuments",
            "jobs",
            "auditAddresses",
            "unconsentedAccountsQueued",
        }
        assert {
            row["action"]: row["ip"]
            for row in await AuditEvent.select(AuditEvent.action, AuditEvent.ip).where(
                AuditEvent.subject == marker
            )
        } == {"test.old": None, "test.new": "192.0.2.2"}
        assert set(await _ids(RefreshToken, RefreshToken.user == user)) == {
            recent_expired.id,
            used_live.id,
        }
        assert set(await _ids(MailOutbox, MailOutbox.id.is_in([m.id for m in mails.values()]))) == {
            mails["newSent"].id,
            mails["newFailed"].id,
            mails["oldQueued"].id,
        }
        contents = {
            row["id"]: row["content"]
            for row in await ModerationItem.select(ModerationItem.id, ModerationItem.content).where(
                ModerationItem.id.is_in([i.id for i in items.values()])
            )
        }
        assert contents == {
            items["oldUpheld"].id: "",
            items["newReleased"].id: "sealed",
            items["oldEscalated"].id: "sealed",
        }
        requests = {
            row["id"]: row
            for row in await AgeVerificationRequest.select().where(
                AgeVerificationRequest.user == user
            )
        }
        assert requests[stale]["status"] == "expired"
        assert requests[stale]["evidence_key_enc"] is None
        assert requests[leftover]["status"] == "approved"
        assert requests[leftover]["evidence_key_enc"] is None
        assert requests[fresh]["status"] == "inReview"
        assert not await blobs.exists(stale_key)
        assert not await blobs.exists(leftover_key)
        assert await blobs.exists(fresh_key)
        assert set(await _ids(Job, Job.owner == user)) == {jobs["newDone"].id}

        waiting = await User.select(User.status).where(User.id == pending).first()
        assert waiting == {"status": "deactivated"}
        queued = (
            await Job.select(Job.status, Job.result)
            .where((Job.owner == pending) & (Job.kind == "accountDeletion"))
            .output(load_json=True)
        )
        assert queued == [{"status": "queued", "result": {"reason": "consentNotGiven"}}]

        again = await service.run_pass(RETENTION, cipher=CIPHER, blobs=blobs, now=now)
        assert all(o.count == 0 for o in again), again


class TestLock:
    async def test_only_one_holder_at_a_time_on_postgres(self, db: Any) -> None:
        from piccolo.engine.postgres import PostgresEngine

        async with service.exclusive() as first:
            assert first is True
            async with service.exclusive() as second:
                # SQLite has one process per database file: always granted.
                assert second is (not isinstance(db, PostgresEngine))
        async with service.exclusive() as after:
            assert after is True
