"""Storage keys: made by the server, validated so none can escape the store."""

from __future__ import annotations

import re
import uuid

import pytest

from storyhub.lib.blobs import InvalidBlobKey, validate_key
from storyhub.lib.errors import InvalidInput
from storyhub.media.keys import media_key

STORY = uuid.UUID("0d4f4a5e-8c1b-4a56-9a0e-1f2e3d4c5b6a")


class TestMediaKey:
    def test_layout(self) -> None:
        key = media_key(STORY, 7, "audio", "audio/ogg")
        assert re.fullmatch(rf"stories/{STORY}/7/audio-[0-9a-f]{{32}}\.ogg", key)

    def test_cover_has_no_seq(self) -> None:
        assert media_key(STORY, None, "cover", "image/png").startswith(f"stories/{STORY}/cover/")

    def test_every_key_is_fresh(self) -> None:
        assert media_key(STORY, 1, "image", "image/png") != media_key(
            STORY, 1, "image", "image/png"
        )

    @pytest.mark.parametrize(
        ("story", "seq", "kind", "content_type"),
        [
            ("../../etc", 1, "image", "image/png"),
            (STORY, -1, "image", "image/png"),
            (STORY, 1, "../x", "image/png"),
            (STORY, 1, "image", "text/html"),
        ],
    )
    def test_rejects_bad_parts(self, story: object, seq: int, kind: str, content_type: str) -> None:
        with pytest.raises(InvalidInput):
            media_key(story, seq, kind, content_type)  # type: ignore[arg-type]


class TestValidateKey:
    @pytest.mark.parametrize(
        "key", ["a", "stories/x/1/image-ab.png", "books/2024_01/book-1.epub", "_x/-y"]
    )
    def test_accepts_safe_keys(self, key: str) -> None:
        assert validate_key(key) == key

    @pytest.mark.parametrize(
        "key",
        [
            "",
            "/etc/passwd",
            "../secret",
            "a/../../b",
            "a/./b",
            "a//b",
            "a/",
            ".hidden",
            "a/.tmp-123",
            "a\\b",
            "a b",
            "a/b\x00",
            "é",
            "x" * 513,
        ],
    )
    def test_rejects_unsafe_keys(self, key: str) -> None:
        with pytest.raises(InvalidBlobKey) as caught:
            validate_key(key)
        assert caught.value.status == 400
        assert caught.value.code == "invalidBlobKey"
