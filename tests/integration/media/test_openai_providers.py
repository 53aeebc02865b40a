"""OpenAI-compatible providers, driven through the SDK's own transport hook.

The SDK (which uses ``httpx2``) is given an ``httpx2.AsyncClient`` whose
``MockTransport`` plays the endpoint: each test asserts the request the SDK
sent and that storyhub reads the answer, or maps the error, correctly.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path

import httpx2
import msgspec
import pytest
from PIL import Image

from storyhub.media.effects import derive_effects
from storyhub.media.providers import (
    EffectsRequest,
    ImageRequest,
    ProviderFailed,
    ProviderUnavailable,
    SpeechRequest,
    TextRequest,
    VideoRequest,
)
from storyhub.media.providers.offline import EspeakAudioProvider
from storyhub.media.providers.openai_compat import OpenAIVideoProvider, build_client
from storyhub.media.registry import MediaProviders, build_providers
from storyhub.media.tools import MediaTools
from storyhub.settings import load_settings

BASE = "http://ai.test/v1"
Handler = Callable[[httpx2.Request], httpx2.Response]


def providers(tmp_path: Path, handler: Handler, **env: str) -> MediaProviders:
    settings = load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_OPENAI_BASE_URL": BASE,
            "STORYHUB_OPENAI_API_KEY": "sk-test",
            "STORYHUB_AI_TEXT_MODEL": "tiny-chat",
            **env,
        }
    )
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return build_providers(settings, http_client=client)


def sse(chunks: list[str]) -> httpx2.Response:
    events = [
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "tiny-chat",
            "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}],
        }
        for c in chunks
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx2.Response(
        200, content=body.encode(), headers={"content-type": "text/event-stream"}
    )


def chat_json(content: str) -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": "c2",
            "object": "chat.completion",
            "created": 1,
            "model": "tiny-chat",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        },
    )


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def video_json(status: str, seconds: str = "4") -> dict[str, object]:
    return {
        "id": "video_1",
        "object": "video",
        "created_at": 1,
        "model": "sora-2",
        "progress": 100 if status == "completed" else 10,
        "seconds": seconds,
        "size": "1280x720",
        "status": status,
        "error": {"code": "bad", "message": "content policy"} if status == "failed" else None,
    }


class TestText:
    async def test_streams_chat_completion_and_joins_the_pieces(self, tmp_path: Path) -> None:
        seen: list[httpx2.Request] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            seen.append(request)
            return sse(["Mia opened ", "the door", " and smiled."])

        text = providers(tmp_path, handler).text
        result = await text.continue_story(
            TextRequest(
                premise="A secret door",
                recent_segments=("Mia found a key.",),
                facts=("Mia is nine.",),
                max_words=50,
            )
        )
        assert result.text == "Mia opened the door and smiled."
        assert (result.provider, result.model) == ("openai", "tiny-chat")
        request = seen[0]
        assert request.method == "POST"
        assert str(request.url) == f"{BASE}/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-test"
        body = json.loads(request.content)
        assert body["model"] == "tiny-chat"
        assert body["stream"] is True
        assert [m["role"] for m in body["messages"]] == ["system", "user"]
        assert "young children" in body["messages"][0]["content"]
        assert "at most 50 words" in body["messages"][0]["content"]
        user = body["messages"][1]["content"]
        assert "Premise: A secret door" in user
        assert "Mia found a key." in user
        assert "- Mia is nine." in user

    async def test_empty_answer_is_provider_failed(self, tmp_path: Path) -> None:
        text = providers(tmp_path, lambda _: sse(["", "  "])).text
        with pytest.raises(ProviderFailed, match="no text"):
            await text.continue_story(TextRequest(premise="x"))

    async def test_unreachable_endpoint_is_provider_unavailable(self, tmp_path: Path) -> None:
        def handler(request: httpx2.Request) -> httpx2.Response:
            raise httpx2.ConnectError("refused", request=request)

        text = providers(tmp_path, handler).text
        with pytest.raises(ProviderUnavailable, match="cannot be reached"):
            await text.continue_story(TextRequest(premise="x"))

    async def test_rejected_key_is_provider_unavailable(self, tmp_path: Path) -> None:
        text = providers(
            tmp_path, lambda _: httpx2.Response(401, json={"error": {"message": "bad key"}})
        ).text
        with pytest.raises(ProviderUnavailable, match="STORYHUB_OPENAI_API_KEY"):
            await text.continue_story(TextRequest(premise="x"))

    async def test_server_error_is_provider_failed(self, tmp_path: Path) -> None:
        text = providers(
            tmp_path, lambda _: httpx2.Response(500, json={"error": {"message": "oops"}})
        ).text
        with pytest.raises(ProviderFailed, match="answered 500"):
            await text.continue_story(TextRequest(premise="x"))


class TestImage:
    async def test_generates_and_fits_to_the_requested_size(self, tmp_path: Path) -> None:
        seen: list[dict[str, object]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            assert str(request.url) == f"{BASE}/images/generations"
            seen.append(json.loads(request.content))
            b64 = base64.b64encode(png(1536, 1024)).decode()
            return httpx2.Response(200, json={"created": 1, "data": [{"b64_json": b64}]})

        image = providers(tmp_path, handler).image
        result = await image.illustrate(
            ImageRequest(prompt="A dragon over a castle", width=1024, height=576)
        )
        body = seen[0]
        assert body["model"] == "gpt-image-1"
        assert body["size"] == "1536x1024"
        assert body["n"] == 1
        assert "response_format" not in body  # GPT image models reject it
        assert "A dragon over a castle" in str(body["prompt"])
        with Image.open(io.BytesIO(result.data)) as decoded:
            assert (decoded.format, decoded.size) == ("PNG", (1024, 576))
        assert (result.provider, result.model, result.content_type) == (
            "openai",
            "gpt-image-1",
            "image/png",
        )

    async def test_dall_e_models_are_asked_for_base64(self, tmp_path: Path) -> None:
        seen: list[dict[str, object]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            seen.append(json.loads(request.content))
            b64 = base64.b64encode(png(1024, 1024)).decode()
            return httpx2.Response(200, json={"created": 1, "data": [{"b64_json": b64}]})

        image = providers(tmp_path, handler, STORYHUB_AI_IMAGE_MODEL="dall-e-3").image
        await image.illustrate(ImageRequest(prompt="x", width=512, height=512))
        assert seen[0]["response_format"] == "b64_json"
        assert seen[0]["size"] == "1024x1024"

    async def test_answer_that_is_not_an_image_is_provider_failed(self, tmp_path: Path) -> None:
        b64 = base64.b64encode(b"<html>nope</html>").decode()
        image = providers(
            tmp_path,
            lambda _: httpx2.Response(200, json={"created": 1, "data": [{"b64_json": b64}]}),
        ).image
        with pytest.raises(ProviderFailed, match="not PNG"):
            await image.illustrate(ImageRequest(prompt="x"))

    async def test_endpoint_without_images_is_provider_unavailable(self, tmp_path: Path) -> None:
        # A llama.cpp server serves chat only: the images route answers 404.
        image = providers(
            tmp_path, lambda _: httpx2.Response(404, json={"error": {"message": "not found"}})
        ).image
        with pytest.raises(ProviderUnavailable, match="does not offer image generation"):
            await image.illustrate(ImageRequest(prompt="x"))


class TestSpeech:
    async def test_speech_request_and_measured_duration(self, tmp_path: Path) -> None:
        tools = MediaTools()
        real_audio = await EspeakAudioProvider(tools).narrate(SpeechRequest(text="Hello there."))
        seen: list[dict[str, object]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            assert str(request.url) == f"{BASE}/audio/speech"
            seen.append(json.loads(request.content))
            return httpx2.Response(
                200, content=real_audio.data, headers={"content-type": "audio/ogg"}
            )

        audio = providers(tmp_path, handler, STORYHUB_AI_SPEECH_VOICE="nova").audio
        result = await audio.narrate(SpeechRequest(text="Hello there.", format="opus"))
        assert seen[0] == {
            "model": "gpt-4o-mini-tts",
            "voice": "nova",
            "input": "Hello there.",
            "response_format": "opus",
        }
        assert result.data == real_audio.data
        assert result.content_type == "audio/ogg"
        assert result.duration_seconds == pytest.approx(real_audio.duration_seconds, abs=0.3)


class TestVideo:
    async def test_creates_polls_and_downloads(self, tmp_path: Path) -> None:
        calls: list[str] = []
        statuses = iter(["in_progress", "completed"])
        created: list[bytes] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            calls.append(f"{request.method} {request.url.path}")
            if request.method == "POST" and request.url.path == "/v1/videos":
                created.append(request.content)
                return httpx2.Response(200, json=video_json("queued"))
            if request.url.path == "/v1/videos/video_1":
                return httpx2.Response(200, json=video_json(next(statuses)))
            if request.url.path == "/v1/videos/video_1/content":
                return httpx2.Response(
                    200,
                    content=b"\x00\x00\x00\x18ftypmp42fake",
                    headers={"content-type": "video/mp4"},
                )
            return httpx2.Response(404, json={"error": {"message": "no"}})

        video = video_provider(tmp_path, handler, poll_interval=0.01)
        result = await video.animate(
            VideoRequest(prompt="A boat at sea", image=png(1280, 720), seconds=5)
        )
        assert calls == [
            "POST /v1/videos",
            "GET /v1/videos/video_1",
            "GET /v1/videos/video_1",
            "GET /v1/videos/video_1/content",
        ]
        form = created[0]
        assert b'name="prompt"' in form
        assert b"A boat at sea" in form
        assert b'name="seconds"' in form
        assert b"\r\n\r\n4\r\n" in form
        assert b'name="size"' in form
        assert b"1280x720" in form
        assert b'name="input_reference"; filename="reference.png"' in form
        assert result.data.startswith(b"\x00\x00\x00\x18ftyp")
        assert (result.content_type, result.duration_seconds, result.model) == (
            "video/mp4",
            4.0,
            "sora-2",
        )

    async def test_failed_job_is_provider_failed_with_its_reason(self, tmp_path: Path) -> None:
        def handler(request: httpx2.Request) -> httpx2.Response:
            if request.method == "POST":
                return httpx2.Response(200, json=video_json("queued"))
            return httpx2.Response(200, json=video_json("failed"))

        video = video_provider(tmp_path, handler, poll_interval=0.01)
        with pytest.raises(ProviderFailed, match="content policy"):
            await video.animate(VideoRequest(prompt="x", seconds=4))

    async def test_polling_stops_at_the_time_limit(self, tmp_path: Path) -> None:
        def handler(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, json=video_json("in_progress"))

        video = video_provider(tmp_path, handler, poll_interval=0.05, timeout="0.3")
        with pytest.raises(ProviderFailed, match=r"not ready within 0\.3 s"):
            await video.animate(VideoRequest(prompt="x", seconds=4))


def video_provider(
    tmp_path: Path, handler: Handler, *, poll_interval: float, timeout: str = "30"
) -> OpenAIVideoProvider:
    """The video provider alone: video is not an OpenAI kind by default."""
    settings = load_settings(
        {
            "STORYHUB_DATA_DIR": str(tmp_path),
            "STORYHUB_OPENAI_BASE_URL": BASE,
            "STORYHUB_AI_TIMEOUT_SECONDS": timeout,
        }
    )
    client = build_client(settings, httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    return OpenAIVideoProvider(client, settings.ai, poll_interval=poll_interval)


class TestEffects:
    async def test_model_json_is_validated_and_capped(self, tmp_path: Path) -> None:
        cues = msgspec.to_builtins(derive_effects("A storm at sea!", "mature"))
        cues["intensity"] = 0.95
        seen: list[dict[str, object]] = []

        def handler(request: httpx2.Request) -> httpx2.Response:
            seen.append(json.loads(request.content))
            return chat_json("Here you go: " + json.dumps(cues))

        effects = providers(tmp_path, handler).effects
        result = await effects.cues(EffectsRequest(text="A storm at sea!", age_rating="allAges"))
        assert result.provider == "openai"
        assert result.effects.weather == "storm"
        assert result.effects.intensity == 0.7
        assert "JSON schema" in str(seen[0]["messages"])

    async def test_unusable_json_falls_back_to_the_rules(self, tmp_path: Path) -> None:
        effects = providers(tmp_path, lambda _: chat_json('{"mood": "furious"}')).effects
        result = await effects.cues(EffectsRequest(text="Snow fell on the village."))
        assert result.provider == "offline"
        assert result.effects == derive_effects("Snow fell on the village.")
