"""Offline providers produce real, valid media with the real tools.

espeak-ng, ffmpeg and ffprobe must be installed (``apt-get install espeak-ng
ffmpeg``): a missing tool fails these tests rather than skipping them.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image

from storyhub.lib.errors import InvalidInput
from storyhub.media.providers import (
    EffectsRequest,
    ImageRequest,
    ProviderFailed,
    ProviderUnavailable,
    SpeechRequest,
    TextRequest,
    VideoRequest,
)
from storyhub.media.providers.offline import (
    EspeakAudioProvider,
    FfmpegVideoProvider,
    NarratorTextProvider,
    PillowImageProvider,
    RuleEffectsProvider,
)
from storyhub.media.registry import build_providers, media_report
from storyhub.media.tools import MediaTools, ProbeResult, probe_file, run_tool
from storyhub.settings import load_settings

NARRATION = "Mia and Pip walked into the forest. They found a silver acorn that glowed."


@pytest.fixture(scope="module")
def tools() -> MediaTools:
    found = MediaTools()
    for name in ("espeak-ng", "ffmpeg", "ffprobe"):
        assert found.find(name), f"{name} is required: apt-get install espeak-ng ffmpeg"
    return found


async def probe(tools: MediaTools, tmp_path: Path, data: bytes, suffix: str) -> ProbeResult:
    path = tmp_path / f"media.{suffix}"
    path.write_bytes(data)
    return await probe_file(tools, str(path))


class TestText:
    async def test_narrator_provider_labels_its_model(self) -> None:
        result = await NarratorTextProvider().continue_story(
            TextRequest(premise="A picnic", recent_segments=("Ada and Leo packed a basket.",))
        )
        assert (result.provider, result.model) == ("offline", "storyhub-narrator-1")
        assert "Ada" in result.text

    async def test_stream_concatenates_to_the_whole_text(self) -> None:
        provider = NarratorTextProvider()
        request = TextRequest(premise="A rainy day", recent_segments=("Kit and Bo stayed in.",))
        pieces = [piece async for piece in provider.stream_story(request)]
        assert len(pieces) > 1
        assert "".join(pieces) == (await provider.continue_story(request)).text


class TestImage:
    async def test_png_decodes_with_the_requested_size(self) -> None:
        result = await PillowImageProvider().illustrate(
            ImageRequest(
                prompt="Mia and Pip under the stars at night",
                caption="Night",
                width=640,
                height=360,
            )
        )
        assert result.content_type == "image/png"
        with Image.open(io.BytesIO(result.data)) as image:
            image.load()
            assert (image.format, image.size) == ("PNG", (640, 360))
            # A real picture, not a blank canvas.
            assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50

    async def test_same_prompt_same_picture_other_prompt_other_picture(self) -> None:
        provider = PillowImageProvider()
        a = await provider.illustrate(
            ImageRequest(prompt="A castle in the snow", width=320, height=200)
        )
        b = await provider.illustrate(
            ImageRequest(prompt="A castle in the snow", width=320, height=200)
        )
        c = await provider.illustrate(
            ImageRequest(prompt="A ship on the sea", width=320, height=200)
        )
        assert a.data == b.data
        assert a.data != c.data

    async def test_absurd_size_is_invalid_input(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            await PillowImageProvider().illustrate(ImageRequest(prompt="x", width=10, height=10))
        assert getattr(caught.value, "status", None) == 400


class TestAudio:
    @pytest.mark.parametrize(
        ("fmt", "codec", "content_type"),
        [("opus", "opus", "audio/ogg"), ("mp3", "mp3", "audio/mpeg")],
    )
    async def test_speech_is_encoded_and_ffprobe_reads_it(
        self, tools: MediaTools, tmp_path: Path, fmt: str, codec: str, content_type: str
    ) -> None:
        result = await EspeakAudioProvider(tools).narrate(SpeechRequest(text=NARRATION, format=fmt))  # type: ignore[arg-type]
        assert result.content_type == content_type
        info = await probe(tools, tmp_path, result.data, "ogg" if fmt == "opus" else "mp3")
        assert info.audio_codec == codec
        assert info.duration_seconds > 1.0
        assert result.duration_seconds == pytest.approx(info.duration_seconds, abs=0.3)

    async def test_text_that_looks_like_an_option_is_spoken_not_parsed(
        self, tools: MediaTools
    ) -> None:
        result = await EspeakAudioProvider(tools).narrate(SpeechRequest(text="--help -w /tmp/x"))
        assert result.duration_seconds
        assert result.duration_seconds > 0.3

    @pytest.mark.parametrize("text", ["", "   "])
    async def test_empty_text_is_invalid_input(self, tools: MediaTools, text: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            await EspeakAudioProvider(tools).narrate(SpeechRequest(text=text))
        assert getattr(caught.value, "code", None) == "emptyNarration"

    async def test_voice_that_is_not_a_voice_name_is_rejected(self, tools: MediaTools) -> None:
        with pytest.raises(InvalidInput) as caught:
            await EspeakAudioProvider(tools).narrate(SpeechRequest(text="hi", voice="--stdout"))
        assert getattr(caught.value, "code", None) == "invalidVoice"


class TestVideo:
    async def test_mp4_is_h264_aac_and_lasts_as_long_as_the_narration(
        self, tools: MediaTools, tmp_path: Path
    ) -> None:
        image = await PillowImageProvider().illustrate(
            ImageRequest(prompt="Mia and Pip in the forest", width=640, height=360)
        )
        audio = await EspeakAudioProvider(tools).narrate(SpeechRequest(text=NARRATION))
        result = await FfmpegVideoProvider(tools).animate(
            VideoRequest(prompt="forest", image=image.data, audio=audio.data, width=640, height=360)
        )
        assert result.content_type == "video/mp4"
        info = await probe(tools, tmp_path, result.data, "mp4")
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert (info.width, info.height) == (640, 360)
        assert audio.duration_seconds is not None
        assert info.duration_seconds == pytest.approx(audio.duration_seconds, abs=0.5)

    async def test_without_audio_the_clip_has_the_asked_length_and_a_silent_track(
        self, tools: MediaTools, tmp_path: Path
    ) -> None:
        result = await FfmpegVideoProvider(tools).animate(
            VideoRequest(prompt="A boat on the sea at sunset", width=320, height=240, seconds=2.0)
        )
        info = await probe(tools, tmp_path, result.data, "mp4")
        assert (info.video_codec, info.audio_codec) == ("h264", "aac")
        assert info.duration_seconds == pytest.approx(2.0, abs=0.5)

    async def test_no_audio_and_no_length_is_invalid_input(self, tools: MediaTools) -> None:
        with pytest.raises(InvalidInput) as caught:
            await FfmpegVideoProvider(tools).animate(VideoRequest(prompt="x"))
        assert getattr(caught.value, "code", None) == "videoLengthMissing"


class TestMissingTools:
    async def test_missing_espeak_is_provider_unavailable_naming_it(self, tmp_path: Path) -> None:
        empty = MediaTools(search_path=str(tmp_path))
        with pytest.raises(ProviderUnavailable) as caught:
            await EspeakAudioProvider(empty).narrate(SpeechRequest(text="hello"))
        assert caught.value.status == 503
        assert caught.value.code == "providerUnavailable"
        assert "espeak-ng is not installed" in caught.value.message

    async def test_missing_ffmpeg_is_provider_unavailable_naming_it(self, tmp_path: Path) -> None:
        empty = MediaTools(search_path=str(tmp_path))
        with pytest.raises(ProviderUnavailable, match="ffmpeg is not installed"):
            await FfmpegVideoProvider(empty).animate(VideoRequest(prompt="x", seconds=1))

    async def test_settings_tool_path_selects_where_tools_are_found(self, tmp_path: Path) -> None:
        settings = load_settings(
            {"STORYHUB_DATA_DIR": str(tmp_path), "STORYHUB_MEDIA_TOOL_PATH": str(tmp_path)}
        )
        providers = build_providers(settings)
        with pytest.raises(ProviderUnavailable):
            await providers.audio.narrate(SpeechRequest(text="hello"))
        report = await media_report(providers, settings)
        assert not report.ready
        by_kind = {p.kind: p for p in report.providers}
        assert not by_kind["audio"].available
        assert "espeak-ng" in (by_kind["audio"].problem or "")
        assert not by_kind["video"].available
        assert by_kind["text"].available
        assert by_kind["image"].available
        assert {t.name: t.available for t in report.tools} == {
            "espeak-ng": False,
            "ffmpeg": False,
            "ffprobe": False,
        }

    async def test_report_with_tools_installed_is_ready_with_versions(
        self, tools: MediaTools, tmp_path: Path
    ) -> None:
        settings = load_settings({"STORYHUB_DATA_DIR": str(tmp_path)})
        report = await media_report(build_providers(settings), settings)
        assert report.ready
        versions = {t.name: t.version or "" for t in report.tools}
        assert "ffmpeg version" in versions["ffmpeg"]
        assert "eSpeak NG" in versions["espeak-ng"]


class TestSubprocesses:
    async def test_overrun_is_killed_and_reported(self) -> None:
        with pytest.raises(ProviderFailed, match=r"within 0\.5 seconds"):
            await run_tool(
                [sys.executable, "-c", "import time; time.sleep(30)"],
                time_limit=0.5,
                what="sleeper",
            )

    async def test_failure_reports_exit_code_and_stderr(self) -> None:
        with pytest.raises(ProviderFailed, match="exit code 3: boom"):
            await run_tool(
                [sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"],
                time_limit=10,
                what="failer",
            )

    async def test_vanished_program_is_unavailable(self, tmp_path: Path) -> None:
        with pytest.raises(ProviderUnavailable):
            await run_tool([str(tmp_path / "gone")], time_limit=5, what="gone")


class TestEffects:
    async def test_rule_provider(self) -> None:
        result = await RuleEffectsProvider().cues(EffectsRequest(text="Snow fell on the village."))
        assert result.effects.particles == "snowflakes"
        assert result.provider == "offline"
