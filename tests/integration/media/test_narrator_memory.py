"""The AI narrator reads the story's memory and lore, on SQLite and PostgreSQL.

Facts and lore are written through the memory service (with the real safety
filter), then ``write_ai_segment`` runs with the offline narrator and with the
OpenAI provider behind an ``httpx2.MockTransport`` that records the prompt.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import msgspec
import pytest

from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import User
from storyhub.lib.blobs import build_blob_store
from storyhub.lib.crypto import FieldCipher
from storyhub.media.generation import MediaRuntime, write_ai_segment
from storyhub.media.prompting import story_memory
from storyhub.media.registry import build_providers
from storyhub.safety.moderation import ModerationQueue
from storyhub.safety.pipeline import SafetyPipeline
from storyhub.safety.room_filter import SafetyContentFilter
from storyhub.safety.tables import ModerationItem
from storyhub.settings import load_settings
from storyhub.stories import memory_service
from storyhub.stories.memory_schemas import MAX_FACTS_PER_STORY, FactIn, LoreIn, LorePatch
from storyhub.stories.memory_service import ContentBlocked
from storyhub.stories.memory_tables import PinnedFact
from storyhub.stories.tables import Collaborator, Segment, Story
from tests.conftest import TEST_SECRET

SEGMENTS = (
    "Mia and her dog Pip walked to the harbour at dawn.",
    "A fisherman pointed at the Lighthouse on the hill. Pip barked at the gulls.",
)


@pytest.fixture(scope="module")
def content_filter() -> SafetyContentFilter:
    """The filter live rooms use: offline pipeline, moderation queue with a real cipher."""
    return SafetyContentFilter(SafetyPipeline(), ModerationQueue(FieldCipher(TEST_SECRET)))


async def make_story(tier: str = "adult") -> tuple[uuid.UUID, Principal]:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier=tier,
        status="active",
    )
    await user.save()
    story = Story(
        title="The Harbour",
        premise="Two friends explore a seaside town.",
        creator=user.id,
        age_rating="allAges",
    )
    await story.save()
    await Collaborator(story=story.id, user=user.id, role="author").save()
    for seq, text in enumerate(SEGMENTS, start=1):
        await Segment(story=story.id, seq=seq, content=text).save()
    principal = Principal(
        id=user.id,
        email=user.email,
        display_name="Ada",
        role="user",
        age_tier=tier,  # type: ignore[arg-type]
        status="active",
        auth_epoch=0,
    )
    return story.id, principal


def lore_in(name: str, triggers: list[str], text: str) -> LoreIn:
    return msgspec.convert({"name": name, "triggers": triggers, "text": text}, LoreIn)


async def seed_memory(
    story_id: uuid.UUID, writer: Principal, content_filter: SafetyContentFilter
) -> None:
    for fact in ("Mia is nine years old.", "Pip is a small brown dog."):
        await memory_service.add_fact(writer, story_id, FactIn(text=fact), content_filter)
    await memory_service.add_lore(
        writer,
        story_id,
        lore_in(
            "The Old Lighthouse", ["lighthouse"], "Its lamp has not been lit in a hundred years."
        ),
        content_filter,
    )
    await memory_service.add_lore(
        writer,
        story_id,
        lore_in("Captain Moss", ["captain moss", "moss"], "A retired sailor who feeds the gulls."),
        content_filter,
    )


@pytest.fixture
async def offline_runtime(tmp_path: Path) -> AsyncIterator[MediaRuntime]:
    runtime = MediaRuntime.from_settings(load_settings({"STORYHUB_DATA_DIR": str(tmp_path)}))
    yield runtime
    await runtime.aclose()


class TestOfflineNarrator:
    async def test_brings_the_triggered_lore_into_the_segment(
        self, db: Any, offline_runtime: MediaRuntime, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story()
        before = await write_ai_segment(offline_runtime, story_id)
        await seed_memory(story_id, writer, content_filter)
        result = await write_ai_segment(offline_runtime, story_id)
        assert result.model == "storyhub-narrator-1"
        assert "The Old Lighthouse" in result.text
        assert "Its lamp has not been lit in a hundred years." in result.text
        assert "Captain Moss" not in result.text  # never mentioned: not in play
        assert "The Old Lighthouse" not in before.text

    async def test_uses_a_pinned_fact_when_no_lore_is_in_play(
        self, db: Any, offline_runtime: MediaRuntime, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story()
        await memory_service.add_fact(
            writer, story_id, FactIn(text="The harbour bell rings at noon."), content_filter
        )
        result = await write_ai_segment(offline_runtime, story_id)
        assert "the harbour bell rings at noon." in result.text.lower()


class TestRewritesAndRetellings:
    async def test_a_rewrite_reads_only_what_came_before_and_each_revision_differs(
        self, db: Any, offline_runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story()
        first = await write_ai_segment(offline_runtime, story_id, before_seq=2)
        again = await write_ai_segment(offline_runtime, story_id, before_seq=2)
        assert first.text == again.text  # deterministic for the same revision
        assert "gulls" not in first.text
        assert "Lighthouse" not in first.text
        await Segment.update({Segment.revision: 1}).where(
            (Segment.story == story_id) & (Segment.seq == 2)
        )
        revised = await write_ai_segment(offline_runtime, story_id, before_seq=2)
        assert revised.text != first.text

    async def test_another_attempt_is_another_telling(
        self, db: Any, offline_runtime: MediaRuntime
    ) -> None:
        story_id, _ = await make_story()
        tellings = {
            (await write_ai_segment(offline_runtime, story_id, variant=n)).text for n in range(3)
        }
        assert len(tellings) == 3
        plain = await write_ai_segment(offline_runtime, story_id)
        assert plain.text == (await write_ai_segment(offline_runtime, story_id, variant=0)).text


class TestOpenAIPrompt:
    async def test_prompt_has_pinned_facts_first_and_only_triggered_lore(
        self, db: Any, tmp_path: Path, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story()
        await seed_memory(story_id, writer, content_filter)
        sent: list[dict[str, Any]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            sent.append(json.loads(request.content))
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "tiny-chat",
                "choices": [{"index": 0, "delta": {"content": "Mia waved."}}],
            }
            body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
            return httpx2.Response(
                200, content=body.encode(), headers={"content-type": "text/event-stream"}
            )

        settings = load_settings(
            {
                "STORYHUB_DATA_DIR": str(tmp_path),
                "STORYHUB_OPENAI_BASE_URL": "http://ai.test/v1",
                "STORYHUB_OPENAI_API_KEY": "sk-test",
                "STORYHUB_AI_TEXT_MODEL": "tiny-chat",
            }
        )
        client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        runtime = MediaRuntime(
            settings=settings,
            providers=build_providers(settings, http_client=client),
            blobs=build_blob_store(settings.s3, settings.data_dir),
        )
        try:
            result = await write_ai_segment(runtime, story_id, ("It is a windy day.",))
        finally:
            await runtime.aclose()
        assert (result.provider, result.text) == ("openai", "Mia waved.")
        system, user = (m["content"] for m in sent[0]["messages"])
        assert "never contradict them" in system
        assert (
            "Facts to keep consistent:\n"
            "- Mia is nine years old.\n"
            "- Pip is a small brown dog.\n"
            "- It is a windy day."
        ) in user
        assert "- The Old Lighthouse: Its lamp has not been lit in a hundred years." in user
        assert "Captain Moss" not in user

    async def test_lore_follows_the_recent_segments(
        self, db: Any, offline_runtime: MediaRuntime, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story()
        await seed_memory(story_id, writer, content_filter)
        await Segment(story=story_id, seq=3, content="Then old Moss waved from his boat.").save()
        _, lore = await memory_service.prompt_inputs(story_id)
        recent = (*SEGMENTS, "Then old Moss waved from his boat.")
        memory = story_memory((), lore, "Two friends explore a seaside town.", recent)
        assert [note.name for note in memory.lore] == ["Captain Moss", "The Old Lighthouse"]
        result = await write_ai_segment(offline_runtime, story_id)
        assert "Captain Moss" in result.text  # the newest mention is the one told


class TestMemoryService:
    async def test_concurrent_pins_stop_at_the_limit_with_distinct_positions(
        self, db: Any, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story()
        attempts = MAX_FACTS_PER_STORY + 5
        results = await asyncio.gather(
            *(
                memory_service.add_fact(
                    writer, story_id, FactIn(text=f"Fact number {i}."), content_filter
                )
                for i in range(attempts)
            ),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(refused) == 5
        assert {getattr(r, "code", None) for r in refused} == {"memoryFull"}
        rows = await PinnedFact.select(PinnedFact.position).where(PinnedFact.story == story_id)
        positions = sorted(row["position"] for row in rows)
        assert positions == list(range(MAX_FACTS_PER_STORY))

    async def test_blocked_lore_is_refused_and_queued_for_moderation(
        self, db: Any, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story("child")
        with pytest.raises(ContentBlocked) as caught:
            await memory_service.add_lore(
                writer,
                story_id,
                lore_in("Bad words", ["cave"], "What the fuck is in the cave?"),
                content_filter,
            )
        assert "profanity" in caught.value.extra["categories"]
        queued = await ModerationItem.select(ModerationItem.source, ModerationItem.author).where(
            ModerationItem.story == story_id
        )
        assert queued == [{"source": "lore", "author": writer.id}]
        assert (await memory_service.list_lore(writer, story_id)).items == []

    async def test_personal_data_is_stored_redacted(
        self, db: Any, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story("child")
        fact = await memory_service.add_fact(
            writer, story_id, FactIn(text="The wizard's phone is 07700 900123."), content_filter
        )
        assert "900123" not in fact.text
        assert "[redacted]" in fact.text

    async def test_renaming_onto_another_entry_conflicts_and_triggers_are_normalised(
        self, db: Any, content_filter: SafetyContentFilter
    ) -> None:
        story_id, writer = await make_story()
        await seed_memory(story_id, writer, content_filter)
        entries = (await memory_service.list_lore(writer, story_id)).items
        moss = next(e for e in entries if e.name == "Captain Moss")
        with pytest.raises(Exception) as caught:
            await memory_service.update_lore(
                writer,
                story_id,
                moss.id,
                LorePatch(name="the old LIGHTHOUSE"),
                content_filter,
            )
        assert getattr(caught.value, "code", None) == "loreNameTaken"
        changed = await memory_service.update_lore(
            writer,
            story_id,
            moss.id,
            LorePatch(triggers=["  old   Moss ", "Old moss", "sailor"]),
            content_filter,
        )
        assert changed.triggers == ["old Moss", "sailor"]
        assert changed.name == "Captain Moss"
        assert changed.updated_at >= moss.updated_at
