"""The ``piper`` audio provider: a neural voice (en_US-joe-medium) run in this process.

Needs the ``piper`` extra (the test extra includes it) and ffmpeg/ffprobe. The
first test pays for loading the voice (about a second, once per process).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storyhub.accounts.tables import User
from storyhub.media.generation import MediaRuntime, generate_asset
from storyhub.media.providers import SpeechRequest, piper_voice
from storyhub.media.providers.base import AudioFormat
from storyhub.media.providers.piper_voice import PiperAudioProvider
from storyhub.media.registry import build_providers, media_report
from storyhub.media.tools import MediaTools, probe_file
from storyhub.settings import load_settings
from storyhub.stories.tables import Segment, Story
from tests.support.piper import require_piper

SENTENCE = "The lighthouse cat climbed the stairs, and the lamp shone over the stormy sea."
"""About five seconds of speech."""


def piper_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(
        {"STORYHUB_DATA_DIR": str(tmp_path), "STORYHUB_AI_AUDIO_PROVIDER": "piper"}
    )


@pytest.fixture
def provider(tmp_path: Path) -> PiperAudioProvider:
    model = require_piper()
    made = build_providers(piper_settings(tmp_path)).audio
    assert isinstance(made, PiperAudioProvider)
    assert made.path == model
    for tool in ("ffmpeg", "ffprobe"):
        assert made.tools.find(tool), f"{tool} is required: apt-get install ffmpeg"
    return made


@pytest.mark.parametrize(
    ("audio_format", "codec", "content_type"),
    [("opus", "opus", "audio/ogg"), ("mp3", "mp3", "audio/mpeg")],
)
async def test_speaks_a_sentence_that_ffprobe_reads(
    provider: PiperAudioProvider,
    tmp_path: Path,
    audio_format: AudioFormat,
    codec: str,
    content_type: str,
) -> None:
    result = await provider.narrate(SpeechRequest(text=SENTENCE, format=audio_format))
    assert (result.provider, result.model) == ("piper", "en_US-joe-medium")
    assert result.content_type == content_type
    path = tmp_path / f"speech.{audio_format}"
    path.write_bytes(result.data)
    info = await probe_file(provider.tools, str(path))
    assert info.audio_codec == codec
    assert info.video_codec is None
    # 14 words read aloud: a few seconds, not a blip and not a minute of noise.
    assert 2.5 < info.duration_seconds < 12
    assert result.duration_seconds is not None
    assert info.duration_seconds == pytest.approx(result.duration_seconds, abs=0.2)


async def test_longer_text_is_longer_speech(provider: PiperAudioProvider) -> None:
    short = await provider.narrate(SpeechRequest(text="Hello."))
    long = await provider.narrate(SpeechRequest(text=f"{SENTENCE} {SENTENCE}"))
    assert short.duration_seconds is not None
    assert long.duration_seconds is not None
    assert short.duration_seconds < 2.5 < long.duration_seconds


async def test_the_voice_is_loaded_once_per_process(provider: PiperAudioProvider) -> None:
    await provider.narrate(SpeechRequest(text="Once."))
    loaded = piper_voice._voices[provider.path]  # type: ignore[index]
    other = PiperAudioProvider(MediaTools())
    await other.narrate(SpeechRequest(text="Twice."))
    assert piper_voice._voices[provider.path] is loaded  # type: ignore[index]


async def test_report_is_ready_then_names_the_missing_extra(
    provider: PiperAudioProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = piper_settings(tmp_path)
    providers = build_providers(settings)
    report = await media_report(providers, settings)
    audio = next(s for s in report.providers if s.kind == "audio")
    assert (audio.provider, audio.model, audio.available) == ("piper", "en_US-joe-medium", True)

    monkeypatch.setattr(piper_voice, "piper_installed", lambda: False)
    report = await media_report(providers, settings)
    audio = next(s for s in report.providers if s.kind == "audio")
    assert not report.ready
    assert not audio.available
    assert audio.problem is not None
    assert audio.problem.startswith("piper-tts is not installed; install storyhub's piper extra")


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[MediaRuntime]:
    require_piper()
    made = MediaRuntime.from_settings(piper_settings(tmp_path))
    yield made
    await made.aclose()


async def test_generated_narration_is_piper_speech(db: Any, runtime: MediaRuntime) -> None:
    user = User(
        email=f"{uuid.uuid4().hex}@example.test",
        display_name="Ada",
        birth_date_enc="x",
        age_tier="adult",
        status="active",
    )
    await user.save()
    story = Story(title="The Lighthouse Cat", premise="A cat keeps a lamp.", creator=user.id)
    await story.save()
    await Segment(story=story.id, seq=1, content=SENTENCE).save()

    asset = await generate_asset(runtime, story.id, 1, "audio")
    assert (asset.kind, asset.provider, asset.model) == ("audio", "piper", "en_US-joe-medium")
    assert asset.content_type == "audio/ogg"
    path = runtime.settings.data_dir / "narration.ogg"
    path.write_bytes(await runtime.blobs.get(asset.blob_key))
    info = await probe_file(MediaTools(), str(path))
    assert info.audio_codec == "opus"
    assert asset.duration_seconds is not None
    assert info.duration_seconds == pytest.approx(asset.duration_seconds, abs=0.2)
    assert await generate_asset(runtime, story.id, 1, "audio") == asset
