"""The ``local-llm`` text provider: SmolLM2-135M run in this process by llama-cpp-python.

Answers are kept short (``max_words=16`` = 48 tokens): the model runs on
shared cores. The first test pays for loading the model (once per process).
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from storyhub.media.providers import ProviderUnavailable, TextRequest
from storyhub.media.providers.local_llm import LocalLlmTextProvider
from storyhub.media.registry import build_providers, media_report
from storyhub.settings import load_settings
from tests.support.local_llm import require_local_llm

pytestmark = pytest.mark.local_llm

REQUEST = TextRequest(
    title="The Lighthouse Cat",
    premise="A small cat keeps the lighthouse lamp burning on a stormy night.",
    recent_segments=("Whiskers climbed the spiral stairs as the wind howled.",),
    facts=("Whiskers is a grey cat.",),
    max_words=16,
)


@pytest.fixture
def provider(tmp_path: Path) -> LocalLlmTextProvider:
    model = require_local_llm()
    settings = load_settings(
        {"STORYHUB_DATA_DIR": str(tmp_path), "STORYHUB_AI_TEXT_PROVIDER": "local-llm"}
    )
    made = build_providers(settings).text
    assert isinstance(made, LocalLlmTextProvider)
    assert made.path == model
    return made


async def test_writes_a_segment_in_process(provider: LocalLlmTextProvider) -> None:
    result = await provider.continue_story(REQUEST)
    assert result.text.strip()
    assert result.provider == "local-llm"
    assert result.model == "SmolLM2-135M-Instruct.Q4_1"
    assert result.duration_seconds > 0


async def test_same_request_same_text_other_variant_other_text(
    provider: LocalLlmTextProvider,
) -> None:
    first = await provider.continue_story(REQUEST)
    second = await provider.continue_story(REQUEST)
    assert first.text == second.text, "the sampling seed is fixed"
    another = await provider.continue_story(msgspec.structs.replace(REQUEST, variant=1))
    assert another.text != first.text, "another telling samples with another seed"


async def test_streams_pieces_that_join_to_the_segment(provider: LocalLlmTextProvider) -> None:
    pieces = [piece async for piece in provider.stream_story(REQUEST)]
    assert len(pieces) > 1
    # continue_story joins the same pieces (the seed is fixed), then trims them.
    assert (await provider.continue_story(REQUEST)).text in "".join(pieces)


async def test_stays_in_process_where_nothing_may_leave(tmp_path: Path) -> None:
    require_local_llm()
    settings = load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_AI_TEXT_PROVIDER": "local-llm",
            "STORYHUB_OPENAI_BASE_URL": "http://ai.invalid/v1",
        }
    )
    remote = build_providers(settings)
    local = build_providers(settings, allow_remote=False)
    try:
        assert remote.text.name == "openai"
        assert local.text.name == "local-llm"
        report = await media_report(local, settings)
        text = next(s for s in report.providers if s.kind == "text")
        assert (text.provider, text.available, text.problem) == ("local-llm", True, None)
    finally:
        await remote.aclose()
        await local.aclose()


async def test_missing_model_is_reported_not_raised_at_startup(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model.gguf"
    settings = load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_AI_TEXT_PROVIDER": "local-llm",
            "STORYHUB_AI_LOCAL_MODEL": str(missing),
        }
    )
    providers = build_providers(settings)
    assert providers.text.model == "no-such-model"
    report = await media_report(providers, settings)
    text = next(s for s in report.providers if s.kind == "text")
    assert not report.ready
    assert text.provider == "local-llm"
    assert not text.available
    assert text.problem is not None
    assert "no-such-model.gguf" in text.problem or "llama-cpp-python" in text.problem
    with pytest.raises(ProviderUnavailable, match="The local LLM cannot run"):
        await providers.text.continue_story(REQUEST)
