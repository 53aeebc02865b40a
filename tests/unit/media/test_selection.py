"""Provider selection by settings, and the AI settings themselves."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from storyhub.media.providers import ProviderFailed, ProviderUnavailable
from storyhub.media.providers.offline import wav_duration
from storyhub.media.registry import build_providers
from storyhub.settings import SettingsError, load_settings


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings({"STORYHUB_DATA_DIR": str(tmp_path), **env})


class TestSelection:
    def test_offline_by_default(self, tmp_path: Path) -> None:
        providers = build_providers(settings(tmp_path))
        assert {p.name for p in providers.by_kind().values()} == {"offline"}
        assert providers.client is None
        assert providers.text.model == "storyhub-narrator-1"

    def test_openai_for_all_but_video_by_default_when_configured(self, tmp_path: Path) -> None:
        providers = build_providers(
            settings(tmp_path, STORYHUB_OPENAI_API_KEY="sk-test", STORYHUB_AI_TEXT_MODEL="m1")
        )
        names = {kind: p.name for kind, p in providers.by_kind().items()}
        assert names == {
            "text": "openai",
            "image": "openai",
            "audio": "openai",
            "effects": "openai",
            "video": "offline",
        }
        assert providers.text.model == "m1"

    def test_video_goes_to_the_endpoint_when_listed(self, tmp_path: Path) -> None:
        providers = build_providers(
            settings(tmp_path, STORYHUB_OPENAI_API_KEY="sk-test", STORYHUB_AI_OPENAI_KINDS="video")
        )
        assert providers.video.name == "openai"
        assert providers.text.name == "offline"

    def test_only_listed_kinds_go_to_the_endpoint(self, tmp_path: Path) -> None:
        providers = build_providers(
            settings(
                tmp_path,
                STORYHUB_OPENAI_BASE_URL="http://127.0.0.1:9/v1",
                STORYHUB_AI_OPENAI_KINDS="text, effects",
            )
        )
        names = {kind: p.name for kind, p in providers.by_kind().items()}
        assert names == {
            "text": "openai",
            "effects": "openai",
            "image": "offline",
            "audio": "offline",
            "video": "offline",
        }
        assert str(providers.client.base_url) == "http://127.0.0.1:9/v1/"  # type: ignore[union-attr]

    def test_tool_path_setting_reaches_the_tools(self, tmp_path: Path) -> None:
        providers = build_providers(settings(tmp_path, STORYHUB_MEDIA_TOOL_PATH="/nowhere"))
        assert providers.tools.search_path == "/nowhere"


class TestSettings:
    def test_unknown_kind_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match=r"STORYHUB_AI_OPENAI_KINDS.*music"):
            settings(tmp_path, STORYHUB_AI_OPENAI_KINDS="text,music")

    def test_bad_audio_format_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match="STORYHUB_AI_AUDIO_FORMAT"):
            settings(tmp_path, STORYHUB_AI_AUDIO_FORMAT="wav")

    def test_bad_timeout_is_named(self, tmp_path: Path) -> None:
        with pytest.raises(SettingsError, match="STORYHUB_AI_TIMEOUT_SECONDS"):
            settings(tmp_path, STORYHUB_AI_TIMEOUT_SECONDS="soon")

    def test_s3_public_endpoint(self, tmp_path: Path) -> None:
        s = settings(
            tmp_path,
            STORYHUB_S3_BUCKET="b",
            STORYHUB_S3_ENDPOINT_URL="http://minio:9000",
            STORYHUB_S3_PUBLIC_ENDPOINT_URL="https://files.example",
        )
        assert s.s3 is not None
        assert s.s3.public_endpoint_url == "https://files.example"


class TestErrors:
    def test_provider_errors_have_stable_codes(self) -> None:
        assert (ProviderUnavailable.status, ProviderUnavailable.code) == (
            503,
            "providerUnavailable",
        )
        assert (ProviderFailed.status, ProviderFailed.code) == (502, "providerFailed")


def _wav(byte_rate: int, payload: int, data_size: int = 0x7FFFFFFF) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, byte_rate // 2, byte_rate, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 0x7FFFFFFF)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
        + b"\0" * payload
    )


class TestWavDuration:
    def test_duration_from_bytes_received_not_header(self) -> None:
        assert wav_duration(_wav(44100, 44100 * 3)) == pytest.approx(3.0)

    def test_not_a_wav(self) -> None:
        with pytest.raises(ProviderFailed):
            wav_duration(b"hello world, not audio")
