"""The books service and its TaskIQ task on SQLite and PostgreSQL.

Authorization (collaborators only; drafts for the owner only), rows written
only when a request is accepted, and a real build through the in-process
broker that leaves a ready book, a done job and the file in the blob store.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storyhub.accounts.principal import AgeTier, Principal
from storyhub.accounts.tables import User
from storyhub.books import service, tasks
from storyhub.books.credits import suggest_pseudonym
from storyhub.books.schemas import BookRequest
from storyhub.books.tables import DigitalBook
from storyhub.jobs.tables import Job
from storyhub.lib.blobs import LocalBlobStore
from storyhub.lib.broker import broker
from storyhub.lib.errors import Conflict, InvalidInput, NotFound, Unavailable
from storyhub.stories.tables import Collaborator, Segment, Story
from tests.integration.books.support import pdf_info, pdf_text_pages


async def person(tier: AgeTier = "adult", name: str = "Ada") -> Principal:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name=name,
        birth_date_enc="x",
        age_tier=tier,
        status="active",
    )
    await user.save()
    return Principal(
        id=user.id,
        email=user.email,
        display_name=name,
        role="user",
        age_tier=tier,
        status="active",
        auth_epoch=0,
    )


async def story_with(
    owner: Principal, others: dict[Principal, str], *, completed: bool = True
) -> uuid.UUID:
    story = Story(
        title="The Lantern Fox",
        premise="A fox looks for the stars.",
        creator=owner.id,
        age_rating="allAges",
        status="completed" if completed else "active",
        completed_at=datetime(2026, 11, 20, tzinfo=UTC) if completed else None,
    )
    await story.save()
    await Collaborator(story=story.id, user=owner.id, role="author").save()
    for someone, role in others.items():
        await Collaborator(story=story.id, user=someone.id, role=role).save()
    writers = [owner.id, *(p.id for p in others), None]
    for seq in range(1, 7):
        text = f"Part {seq}: the fox and the lantern went on."
        await Segment(
            story=story.id, seq=seq, author=writers[seq % len(writers)], content=text
        ).save()
    return story.id


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tasks.BookRuntime]:
    made = tasks.BookRuntime(
        blobs=LocalBlobStore(tmp_path / "blobs"),
        pseudonym_for=lambda uid: suggest_pseudonym(uid.encode()),
    )
    tasks.install_book_runtime(made)
    await broker.startup()
    yield made
    await broker.shutdown()
    tasks.install_book_runtime(None)


async def enqueue(book_id: uuid.UUID, job_id: uuid.UUID) -> None:
    sent = await tasks.build_book_task.kiq(str(book_id), job_id=str(job_id))
    result = await sent.wait_result(timeout=120)
    assert not result.is_err, result.error


async def never(book_id: uuid.UUID, job_id: uuid.UUID) -> None:
    raise AssertionError("a refused request must not be queued")


async def count_books(story_id: uuid.UUID) -> int:
    return await DigitalBook.count().where(DigitalBook.story == story_id)


class TestRequestBook:
    async def test_viewer_builds_an_epub_of_a_completed_story(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner, viewer = await person(), await person(name="Vic")
        story_id = await story_with(owner, {viewer: "viewer"})
        accepted = await service.request_book(viewer, story_id, BookRequest(format="epub"), enqueue)

        book = await service.get_book(viewer, accepted.book_id)
        assert (book.status, book.format, book.page_size, book.draft) == (
            "ready",
            "epub",
            None,
            False,
        )
        assert book.download_path == f"/books/{accepted.book_id}/download"
        assert book.size_bytes is not None
        job = await Job.select().where(Job.id == accepted.task_id).first()
        assert job is not None
        assert (job["status"], job["kind"], job["owner"]) == ("done", "book", viewer.id)

        found = await service.book_download(owner, accepted.book_id)
        assert found.filename == "The-Lantern-Fox.epub"
        assert found.content_type == "application/epub+zip"
        data = await runtime.blobs.get(found.key)
        assert len(data) == book.size_bytes
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.read("mimetype") == b"application/epub+zip"

    async def test_letter_pdf_is_built_at_its_page_size(
        self, db: Any, runtime: tasks.BookRuntime, tmp_path: Path
    ) -> None:
        owner = await person()
        story_id = await story_with(owner, {})
        accepted = await service.request_book(
            owner, story_id, BookRequest(format="pdf", page_size="letter"), enqueue
        )
        book = await service.get_book(owner, accepted.book_id)
        assert (book.status, book.page_size) == ("ready", "letter")
        path = tmp_path / "book.pdf"
        path.write_bytes(await runtime.blobs.get((await service.book_download(owner, book.id)).key))
        assert "612 x 792 pts" in pdf_info(path)

    async def test_owner_builds_a_marked_draft_of_an_unfinished_story(
        self, db: Any, runtime: tasks.BookRuntime, tmp_path: Path
    ) -> None:
        owner = await person()
        story_id = await story_with(owner, {}, completed=False)
        accepted = await service.request_book(owner, story_id, BookRequest(format="pdf"), enqueue)
        book = await service.get_book(owner, accepted.book_id)
        assert (book.status, book.draft, book.page_size) == ("ready", True, "A5")
        found = await service.book_download(owner, book.id)
        assert found.filename == "The-Lantern-Fox-draft.pdf"
        path = tmp_path / "draft.pdf"
        path.write_bytes(await runtime.blobs.get(found.key))
        assert "Draft — this story is not finished yet." in pdf_text_pages(path)[1]

    async def test_minor_collaborator_is_credited_by_pseudonym_in_the_stored_book(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner, child = await person(), await person("child", name="Emma Realchild")
        story_id = await story_with(owner, {child: "author"})
        accepted = await service.request_book(child, story_id, BookRequest(format="epub"), enqueue)
        found = await service.book_download(child, accepted.book_id)
        with zipfile.ZipFile(io.BytesIO(await runtime.blobs.get(found.key))) as archive:
            text = "".join(
                archive.read(n).decode() for n in archive.namelist() if n.endswith(".xhtml")
            )
        assert "Realchild" not in text
        assert suggest_pseudonym(str(child.id).encode()) in text


class TestRefusals:
    async def test_strangers_can_neither_build_nor_see_nor_download(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner, stranger = await person(), await person(name="Eve")
        story_id = await story_with(owner, {})
        with pytest.raises(NotFound) as refused:
            await service.request_book(stranger, story_id, BookRequest(format="epub"), never)
        assert refused.value.code == "storyNotFound"
        assert await count_books(story_id) == 0

        accepted = await service.request_book(owner, story_id, BookRequest(format="epub"), enqueue)
        for call in (service.get_book, service.book_download):
            with pytest.raises(NotFound) as hidden:
                await call(stranger, accepted.book_id)
            assert hidden.value.code == "bookNotFound"
        with pytest.raises(NotFound):
            await service.get_book(owner, uuid.uuid4())

    async def test_only_the_owner_may_build_an_unfinished_story(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner, author = await person(), await person(name="Ann")
        story_id = await story_with(owner, {author: "author"}, completed=False)
        with pytest.raises(Conflict) as refused:
            await service.request_book(author, story_id, BookRequest(format="epub"), never)
        assert refused.value.code == "storyNotCompleted"
        assert await count_books(story_id) == 0

    async def test_page_size_on_an_epub_is_invalid_and_writes_nothing(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner = await person()
        story_id = await story_with(owner, {})
        with pytest.raises(InvalidInput):
            await service.request_book(
                owner, story_id, BookRequest(format="epub", page_size="A5"), never
            )
        assert await count_books(story_id) == 0

    async def test_unreachable_queue_answers_503_and_marks_the_rows_failed(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner = await person()
        story_id = await story_with(owner, {})

        async def broken(book_id: uuid.UUID, job_id: uuid.UUID) -> None:
            raise ConnectionError("redis is down")

        with pytest.raises(Unavailable):
            await service.request_book(owner, story_id, BookRequest(format="epub"), broken)
        rows = await DigitalBook.select(DigitalBook.status).where(DigitalBook.story == story_id)
        assert rows == [{"status": "failed"}]

    async def test_download_before_the_build_is_ready_is_a_conflict(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner = await person()
        story_id = await story_with(owner, {})
        queued: list[uuid.UUID] = []

        async def later(book_id: uuid.UUID, job_id: uuid.UUID) -> None:
            queued.append(book_id)

        accepted = await service.request_book(owner, story_id, BookRequest(format="epub"), later)
        assert (await service.get_book(owner, accepted.book_id)).status == "pending"
        with pytest.raises(Conflict) as refused:
            await service.book_download(owner, accepted.book_id)
        assert refused.value.code == "bookNotReady"


class TestTaskFailures:
    async def test_a_story_that_cannot_be_typeset_fails_the_book_with_a_reason(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        owner = await person()
        story_id = await story_with(owner, {})
        await Story.update({Story.title: "   "}).where(Story.id == story_id)
        accepted = await service.request_book(owner, story_id, BookRequest(format="pdf"), enqueue)
        book = await service.get_book(owner, accepted.book_id)
        assert book.status == "failed"
        assert book.error is not None
        assert "title" in book.error
        job = await Job.select(Job.status, Job.error).where(Job.id == accepted.task_id).first()
        assert job == {"status": "failed", "error": book.error}


class TestProgress:
    async def test_progress_hook_hears_building_then_ready_for_the_requester(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        heard: list[tasks.BookProgress] = []

        async def hook(progress: tasks.BookProgress) -> None:
            heard.append(progress)

        runtime.on_progress = hook
        owner = await person()
        story_id = await story_with(owner, {})
        accepted = await service.request_book(owner, story_id, BookRequest(format="epub"), enqueue)
        assert [p.status for p in heard] == ["building", "ready"]
        assert {(p.book_id, p.story_id, p.requested_by) for p in heard} == {
            (str(accepted.book_id), str(story_id), str(owner.id))
        }

    async def test_a_failing_hook_does_not_fail_the_build(
        self, db: Any, runtime: tasks.BookRuntime
    ) -> None:
        async def hook(progress: tasks.BookProgress) -> None:
            raise RuntimeError("room unreachable")

        runtime.on_progress = hook
        owner = await person()
        story_id = await story_with(owner, {})
        accepted = await service.request_book(owner, story_id, BookRequest(format="epub"), enqueue)
        assert (await service.get_book(owner, accepted.book_id)).status == "ready"
