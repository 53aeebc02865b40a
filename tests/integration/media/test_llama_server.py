"""The OpenAI-compatible text provider against a real llama.cpp server (SmolLM2-135M).

``python -m llama_cpp.server`` serves chat completions only; the routes it
lacks (images, speech, video, moderation) are covered with ``MockTransport``
in ``test_openai_providers.py`` and ``tests/unit/safety/test_openai_moderation.py``.
Answers are kept short (``max_words=16`` = 48 tokens): the model runs on
shared cores.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storyhub.accounts.tables import User
from storyhub.media.generation import MediaRuntime, write_ai_segment
from storyhub.media.providers import ImageRequest, ProviderUnavailable, TextRequest
from storyhub.media.providers.openai_compat import OpenAITextProvider
from storyhub.media.registry import MediaProviders, build_providers
from storyhub.settings import Settings, load_settings
from storyhub.stories.tables import Segment, Story
from tests.support.local_llm import LlamaServer, require_local_llm

pytestmark = pytest.mark.local_llm

REQUEST = TextRequest(
    title="The Lighthouse Cat",
    premise="A small cat keeps the lighthouse lamp burning on a stormy night.",
    recent_segments=("Whiskers climbed the spiral stairs as the wind howled.",),
    max_words=16,
)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    model = require_local_llm()
    server = LlamaServer(model, tmp_path_factory.mktemp("llama") / "server.log")
    server.start()
    yield server
    server.stop()


def settings_for(server: LlamaServer, data_dir: Path, kinds: str = "text") -> Settings:
    return load_settings(
        {
            "STORYHUB_DATA_DIR": str(data_dir),
            "STORYHUB_OPENAI_BASE_URL": server.base_url,
            "STORYHUB_OPENAI_API_KEY": "sk-local-llama",  # the server accepts any key
            "STORYHUB_AI_OPENAI_KINDS": kinds,
            "STORYHUB_AI_TEXT_MODEL": server.alias,
            "STORYHUB_AI_TIMEOUT_SECONDS": "90",
        }
    )


@pytest.fixture
async def providers(llama_server: LlamaServer, tmp_path: Path) -> AsyncIterator[MediaProviders]:
    made = build_providers(settings_for(llama_server, tmp_path))
    yield made
    await made.aclose()


async def test_continue_story_is_written_by_the_server_model(
    llama_server: LlamaServer, providers: MediaProviders
) -> None:
    assert isinstance(providers.text, OpenAITextProvider)
    result = await providers.text.continue_story(REQUEST)
    assert result.text.strip()
    assert result.provider == "openai"
    assert result.model == llama_server.alias
    assert result.model in llama_server.model_ids()
    # Only text was sent to the server; the other kinds stayed offline.
    assert providers.image.name == "offline"


async def test_stream_story_yields_the_pieces_as_they_come(providers: MediaProviders) -> None:
    pieces = [piece async for piece in providers.text.stream_story(REQUEST)]
    assert len(pieces) > 1, "a streamed answer arrives in several chunks"
    assert "".join(pieces).strip()


async def test_route_the_server_lacks_is_provider_unavailable(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    made = build_providers(settings_for(llama_server, tmp_path, kinds="text,image"))
    try:
        with pytest.raises(ProviderUnavailable, match="does not offer image generation"):
            await made.image.illustrate(ImageRequest(prompt="a cat in a lighthouse"))
    finally:
        await made.aclose()


async def test_narrator_turn_for_a_stored_story(
    db: object, llama_server: LlamaServer, tmp_path: Path
) -> None:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier="adult",
        status="active",
    )
    await user.save()
    story = Story(
        title="The Lighthouse Cat",
        premise="A small cat keeps the lighthouse lamp burning on a stormy night.",
        creator=user.id,
        age_rating="allAges",
    )
    await story.save()
    await Segment(story=story.id, seq=1, content="Whiskers climbed the spiral stairs.").save()
    runtime = MediaRuntime.from_settings(settings_for(llama_server, tmp_path))
    try:
        result = await write_ai_segment(runtime, story.id, facts=("Whiskers is a grey cat.",))
    finally:
        await runtime.aclose()
    assert result.text.strip()
    assert (result.provider, result.model) == ("openai", llama_server.alias)
