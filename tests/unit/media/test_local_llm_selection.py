"""Choosing the local LLM for text, and what it says when it cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyhub.media.providers import ProviderUnavailable, TextRequest, local_llm
from storyhub.media.providers.local_llm import LocalLlmTextProvider
from storyhub.media.providers.offline import NarratorTextProvider
from storyhub.media.registry import build_providers
from storyhub.settings import SettingsError, load_settings


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"STORYHUB_DATA_DIR": str(tmp_path), **env})


def test_the_narrator_writes_by_default(tmp_path: Path) -> None:
    assert settings(tmp_path).ai.text_provider == "narrator"
    assert isinstance(build_providers(settings(tmp_path)).text, NarratorTextProvider)


def test_local_llm_is_chosen_by_setting_and_named_after_its_model(tmp_path: Path) -> None:
    model = tmp_path / "tiny-story-model.Q8_0.gguf"
    chosen = settings(
        tmp_path, STORYHUB_AI_TEXT_PROVIDER="Local-LLM", STORYHUB_AI_LOCAL_MODEL=str(model)
    )
    assert chosen.ai.text_provider == "local-llm"
    text = build_providers(chosen).text
    assert isinstance(text, LocalLlmTextProvider)
    assert (text.name, text.model, text.path) == ("local-llm", "tiny-story-model.Q8_0", model)


def test_an_endpoint_configured_for_text_wins_over_the_local_llm(tmp_path: Path) -> None:
    chosen = settings(
        tmp_path,
        STORYHUB_AI_TEXT_PROVIDER="local-llm",
        STORYHUB_OPENAI_BASE_URL="http://ai.invalid/v1",
    )
    assert build_providers(chosen).text.name == "openai"
    assert build_providers(chosen, allow_remote=False).text.name == "local-llm"


def test_unknown_text_provider_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STORYHUB_AI_TEXT_PROVIDER must be narrator or"):
        settings(tmp_path, STORYHUB_AI_TEXT_PROVIDER="gpt")


async def test_without_the_extra_it_is_unavailable_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_llm, "llama_cpp_installed", lambda: False)
    provider = LocalLlmTextProvider(settings(tmp_path, STORYHUB_AI_TEXT_PROVIDER="local-llm").ai)
    assert provider.problem() is not None
    assert "llama-cpp-python is not installed" in (provider.problem() or "")
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.continue_story(TextRequest(premise="A cat keeps a lighthouse."))
    assert raised.value.code == "providerUnavailable"
    assert "storyhub[local-llm]" in str(raised.value)


def test_loaded_models_are_closed_before_interpreter_teardown(tmp_path: Path) -> None:
    closed: list[str] = []

    class FakeLlama:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    local_llm._models[tmp_path / "a.gguf"] = local_llm._Loaded(FakeLlama("a"))
    local_llm._models[tmp_path / "b.gguf"] = local_llm._Loaded(FakeLlama("b"))
    local_llm.close_models()
    assert sorted(closed) == ["a", "b"]
    assert local_llm._models == {}
    local_llm.close_models()  # nothing left: a second call (the exit hook) is harmless
    assert sorted(closed) == ["a", "b"]
