"""Books from stored stories: database rows, real generated media, real validators.

The story is written to SQLite and PostgreSQL, its media made by the offline
providers of the media domain (PNG illustrations, Opus narration from
espeak-ng), then loaded, built and validated. The child co-author's real name
and email never reach the book.
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

from storyhub.accounts.tables import User
from storyhub.books.build import build_epub, build_pdf
from storyhub.books.credits import suggest_pseudonym
from storyhub.books.loader import keyed_pseudonyms, load_manuscript
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import NotFound
from storyhub.media.generation import MediaRuntime, generate_asset
from storyhub.settings import load_settings
from storyhub.stories.tables import Collaborator, Segment, Story
from tests.integration.books.support import (
    assert_in_order,
    body_text,
    epubcheck,
    expected_needles,
    pdf_text_pages,
    qpdf_check,
    require_tool,
)

CHILD_NAME = "Emma Realchild"
SECRET = "books-loader-test-secret-0123456789abcdefghij"


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[MediaRuntime]:
    made = MediaRuntime.from_settings(load_settings({"STORYHUB_DATA_DIR": str(tmp_path)}))
    yield made
    await made.aclose()


async def user(name: str, tier: str) -> User:
    row = User(
        email=f"{name.split()[0].lower()}.{uuid.uuid4().hex[:8]}@example.org",
        display_name=name,
        birth_date_enc="sealed",
        age_tier=tier,
        status="active",
    )
    await row.save()
    return row


async def stored_story() -> tuple[uuid.UUID, User, User]:
    owner = await user("Sam Rivera", "adult")
    child = await user(CHILD_NAME, "child")
    story = Story(
        title="The Lantern Fox",
        premise="A fox looks for where the stars go.",
        creator=owner.id,
        age_rating="allAges",
        status="completed",
        created_at=datetime(2026, 11, 1, 9, tzinfo=UTC),
        completed_at=datetime(2026, 11, 20, 18, tzinfo=UTC),
    )
    await story.save()
    await Collaborator(story=story.id, user=owner.id, role="author").save()
    await Collaborator(story=story.id, user=child.id, role="author").save()
    authors = [owner.id, child.id, None]
    for seq in range(1, 10):
        text = f"Part {seq}: the fox walked on and the lantern glowed a little brighter."
        await Segment(story=story.id, seq=seq, author=authors[seq % 3], content=text).save()
    return story.id, owner, child


class TestLoadManuscript:
    async def test_stored_story_with_generated_media_builds_valid_books(
        self, db: Any, runtime: MediaRuntime, tmp_path: Path
    ) -> None:
        require_tool("espeak-ng")
        require_tool("ffmpeg")
        story_id, owner, child = await stored_story()
        for seq in (2, 5):
            await generate_asset(runtime, story_id, seq, "image")
        await generate_asset(runtime, story_id, 3, "audio")
        await generate_asset(runtime, story_id, None, "cover")

        cipher = FieldCipher(SECRET)
        manuscript = await load_manuscript(
            story_id, blobs=runtime.blobs, pseudonym_for=keyed_pseudonyms(cipher)
        )
        pseudonym = suggest_pseudonym(cipher.lookup_hash(f"book-pseudonym:{child.id}").encode())
        assert [c.name for c in manuscript.collaborators] == [
            "Sam Rivera",
            pseudonym,
            "the narrator",
        ]
        assert [s.credit for s in manuscript.segments][:3] == [
            pseudonym,
            "the narrator",
            "Sam Rivera",
        ]
        assert manuscript.language == "en"
        assert manuscript.cover is not None
        assert {s.seq for s in manuscript.segments if s.illustration} == {2, 5}
        narrated = [s for s in manuscript.segments if s.narration]
        assert [s.seq for s in narrated] == [3]
        assert narrated[0].narration.mime == "audio/mpeg"  # type: ignore[union-attr]

        epub = tmp_path / "stored.epub"
        epub.write_bytes(build_epub(manuscript))
        report = epubcheck(epub)
        assert report.clean, "\n".join(report.messages)
        pdf = tmp_path / "stored.pdf"
        pdf.write_bytes(build_pdf(manuscript, "letter"))
        assert qpdf_check(pdf).returncode == 0
        pages = pdf_text_pages(pdf)
        assert_in_order(body_text(pages), expected_needles(manuscript))

        with zipfile.ZipFile(io.BytesIO(epub.read_bytes())) as archive:
            text = "".join(
                archive.read(n).decode()
                for n in archive.namelist()
                if n.endswith((".xhtml", ".opf", ".smil"))
            )
        visible = text + "\n".join(pages)
        for secret in (CHILD_NAME, "Emma", "Realchild", child.email, owner.email, str(child.id)):
            assert secret.casefold() not in visible.casefold()

    async def test_story_language_follows_its_script(self, db: Any, runtime: MediaRuntime) -> None:
        owner = await user("Noa", "adult")
        story = Story(title="סיפור", premise="", creator=owner.id, age_rating="allAges")
        await story.save()
        await Collaborator(story=story.id, user=owner.id, role="author").save()
        await Segment(story=story.id, seq=1, author=owner.id, content="היה היה שועל קטן").save()
        manuscript = await load_manuscript(
            story.id, blobs=runtime.blobs, pseudonym_for=lambda _: "x", draft=True
        )
        assert manuscript.language == "he"
        assert manuscript.draft
        assert manuscript.completed_at is None

    async def test_missing_story_is_not_found(self, db: Any, runtime: MediaRuntime) -> None:
        with pytest.raises(NotFound):
            await load_manuscript(uuid.uuid4(), blobs=runtime.blobs, pseudonym_for=str)
