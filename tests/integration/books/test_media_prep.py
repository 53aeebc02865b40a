"""Stored media made fit for a book: WebP to PNG, Opus to MP3, big images scaled down."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from storyhub.books.media_prep import MAX_IMAGE_PIXELS, prepare_illustration, prepare_narration
from tests.integration.books.support import require_tool, run


def encoded(fmt: str, size: tuple[int, int] = (80, 60), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 200, 90)).save(out, format=fmt)
    return out.getvalue()


class TestIllustrations:
    def test_png_and_jpeg_pass_through_unchanged(self) -> None:
        for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
            data = encoded(fmt)
            picture = prepare_illustration(data, mime, alt="a fox")
            assert picture is not None
            assert (picture.data, picture.mime, picture.alt) == (data, mime, "a fox")

    def test_webp_becomes_png(self) -> None:
        picture = prepare_illustration(encoded("WEBP", mode="RGBA"), "image/webp")
        assert picture is not None
        assert picture.mime == "image/png"
        assert Image.open(io.BytesIO(picture.data)).size == (80, 60)

    def test_mislabelled_image_is_re_encoded_to_match_its_label(self) -> None:
        picture = prepare_illustration(encoded("JPEG"), "image/png")
        assert picture is not None
        assert picture.data.startswith(b"\xff\xd8\xff") == (picture.mime == "image/jpeg")

    def test_huge_image_is_scaled_down(self) -> None:
        picture = prepare_illustration(encoded("PNG", size=(4000, 1000)), "image/png")
        assert picture is not None
        assert Image.open(io.BytesIO(picture.data)).size == (MAX_IMAGE_PIXELS, 400)

    def test_unreadable_image_is_left_out(self) -> None:
        assert prepare_illustration(b"not an image", "image/png") is None


class TestNarration:
    async def test_opus_is_transcoded_to_mp3_with_its_duration(self, tmp_path: Path) -> None:
        ffmpeg = require_tool("ffmpeg")
        source = tmp_path / "n.ogg"
        made = run(ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=2.3",
                   "-c:a", "libopus", str(source))  # fmt: skip
        assert made.returncode == 0, made.stderr
        narration = await prepare_narration(source.read_bytes(), "audio/ogg", 2.3)
        assert narration is not None
        assert narration.mime == "audio/mpeg"
        assert narration.data[:3] == b"ID3" or narration.data[0] == 0xFF
        assert abs(narration.duration_seconds - 2.3) < 0.15

    async def test_mp3_with_known_duration_passes_through(self) -> None:
        narration = await prepare_narration(b"ID3fake", "audio/mpeg", 4.5)
        assert narration is not None
        assert (narration.data, narration.duration_seconds) == (b"ID3fake", 4.5)

    async def test_garbage_audio_is_left_out(self) -> None:
        require_tool("ffmpeg")
        assert await prepare_narration(b"garbage", "audio/ogg", None) is None
