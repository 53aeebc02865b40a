"""Providers for any OpenAI-compatible endpoint, through the ``openai`` SDK.

``base_url`` points the SDK at OpenAI, Azure OpenAI, vLLM, Ollama or a
llama.cpp server. Every call has a time limit (``settings.ai.timeout_seconds``,
video polling included) and SDK errors become storyhub errors: an endpoint that
cannot be reached, refuses our key or lacks the route is
:class:`ProviderUnavailable`; anything else that goes wrong is
:class:`ProviderFailed` (worth a retry).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import re
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import msgspec
import openai
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from storyhub.media.effects import INTENSITY_CAP, VisualEffects, derive_effects
from storyhub.media.providers.base import (
    CONTENT_TYPES,
    EffectsRequest,
    EffectsResult,
    ImageRequest,
    MediaResult,
    ProviderFailed,
    ProviderUnavailable,
    SpeechRequest,
    TextRequest,
    TextResult,
    VideoRequest,
)
from storyhub.media.tools import MediaTools, probe_file
from storyhub.settings import AISettings, Settings

OPENAI = "openai"
NO_KEY = "storyhub-no-key"
"""Sent when the endpoint needs no key (a local llama.cpp or vLLM server)."""
T = TypeVar("T")

AUDIENCE = {
    "allAges": "young children (ages 5-12): simple words, kind, no violence, nothing scary",
    "teen": "teenagers: mild suspense is fine, no graphic content",
    "mature": "adults: keep it tasteful",
}
IMAGE_SIZES = {"1536x1024": 1.5, "1024x1024": 1.0, "1024x1536": 2 / 3}
VIDEO_SECONDS = (4, 8, 12)
MEMORY_INSTRUCTION = (
    " The authors pinned facts and lore for this story: never contradict them, and use "
    "the lore only where it fits the scene."
)
"""Added to the system prompt when the request carries facts or lore."""


def build_client(settings: Settings, http_client: httpx2.AsyncClient | None = None) -> AsyncOpenAI:
    """An SDK client for the configured endpoint (``http_client`` lets tests mock it)."""
    return AsyncOpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key or NO_KEY,
        timeout=settings.ai.timeout_seconds,
        max_retries=1,
        http_client=http_client,
    )


def _endpoint(client: AsyncOpenAI) -> str:
    return str(client.base_url).rstrip("/")


async def _call(client: AsyncOpenAI, what: str, time_limit: float, call: Awaitable[T]) -> T:
    """Await an SDK call under a time limit, translating its errors."""
    try:
        async with asyncio.timeout(time_limit):
            return await call
    except TimeoutError:
        raise ProviderFailed(
            f"{what} at {_endpoint(client)} took longer than {time_limit:g} s."
        ) from None
    except openai.APIConnectionError:  # also covers APITimeoutError
        raise ProviderUnavailable(
            f"The AI service at {_endpoint(client)} cannot be reached for {what}."
        ) from None
    except (openai.AuthenticationError, openai.PermissionDeniedError):
        raise ProviderUnavailable(
            f"The AI service at {_endpoint(client)} refused storyhub's key for {what}; "
            "check STORYHUB_OPENAI_API_KEY."
        ) from None
    except openai.NotFoundError:
        raise ProviderUnavailable(
            f"The AI service at {_endpoint(client)} does not offer {what} "
            "(or does not know the model)."
        ) from None
    except openai.APIStatusError as exc:
        raise ProviderFailed(
            f"The AI service at {_endpoint(client)} answered {exc.status_code} to {what}."
        ) from None


def _system_prompt(request: TextRequest) -> str:
    return (
        "You are the narrator of a collaborative story written by a group of people. "
        f"The audience is {AUDIENCE[request.age_rating]}. "
        f"Continue the story with ONE short segment of at most {request.max_words} words "
        "that follows on from the last segment and keeps the same characters. "
        "Never include real names of people, addresses, phone numbers or other personal "
        "information. Reply with the story text only: no title, no notes, no quotes around it."
        + (MEMORY_INSTRUCTION if request.facts or request.lore else "")
    )


def _user_prompt(request: TextRequest) -> str:
    parts = []
    if request.title:
        parts.append(f"Title: {request.title}")
    parts.append(f"Premise: {request.premise}")
    if request.facts:
        parts.append("Facts to keep consistent:\n" + "\n".join(f"- {f}" for f in request.facts))
    if request.lore:
        # One line per entry: a multi-paragraph text must not read as the story itself.
        notes = "\n".join(f"- {note.name}: {' '.join(note.text.split())}" for note in request.lore)
        parts.append("Lore that matters now (most recently mentioned first):\n" + notes)
    if request.recent_segments:
        parts.append("The story so far (latest last):\n" + "\n\n".join(request.recent_segments))
    else:
        parts.append("The story has not started yet: write its opening.")
    return "\n\n".join(parts)


def chat_messages(request: TextRequest) -> list[dict[str, str]]:
    """The chat messages sent for ``request`` (exposed for docs and tests)."""
    return [
        {"role": "system", "content": _system_prompt(request)},
        {"role": "user", "content": _user_prompt(request)},
    ]


class OpenAITextProvider:
    """Chat completions, streamed so a slow model still shows progress."""

    name = OPENAI

    def __init__(self, client: AsyncOpenAI, ai: AISettings) -> None:
        self.client = client
        self.model = ai.text_model
        self.timeout = ai.timeout_seconds

    async def stream_story(self, request: TextRequest) -> AsyncIterator[str]:
        """Pieces of the next segment as the model produces them."""
        deadline = time.monotonic() + self.timeout
        stream: AsyncStream[ChatCompletionChunk] = await _call(
            self.client,
            "chat completions",
            self.timeout,
            self.client.chat.completions.create(
                model=self.model,
                messages=chat_messages(request),  # type: ignore[arg-type]
                max_tokens=request.max_words * 2 + 16,
                temperature=0.8,
                stream=True,
            ),
        )
        iterator = stream.__aiter__()
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    chunk = await _call(
                        self.client, "chat completions", max(remaining, 0.001), iterator.__anext__()
                    )
                except StopAsyncIteration:
                    return
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        finally:
            await stream.close()

    async def continue_story(self, request: TextRequest) -> TextResult:
        """The whole next segment; an empty answer is a :class:`ProviderFailed`."""
        started = time.perf_counter()
        pieces = [piece async for piece in self.stream_story(request)]
        text = _clean_text("".join(pieces))
        if not text:
            raise ProviderFailed(f"The model {self.model} returned no text.")
        return TextResult(
            text=text,
            provider=self.name,
            model=self.model,
            duration_seconds=time.perf_counter() - started,
        )


def _clean_text(text: str) -> str:
    text = text.strip().strip('"').strip()
    # Small models sometimes echo a label; the segment is what follows it.
    return re.sub(r"^(?:segment|continuation|story)\s*:\s*", "", text, flags=re.IGNORECASE)


def _sniff_image(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    raise ProviderFailed("The image service returned data that is not PNG, JPEG or WebP.")


def _fit_png(data: bytes, width: int, height: int) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        fitted = ImageOps.fit(image.convert("RGB"), (width, height))
    out = io.BytesIO()
    fitted.save(out, format="PNG")
    return out.getvalue()


class OpenAIImageProvider:
    """``images.generate``; the picture is fitted to the requested size as PNG."""

    name = OPENAI

    def __init__(self, client: AsyncOpenAI, ai: AISettings) -> None:
        self.client = client
        self.model = ai.image_model
        self.timeout = ai.timeout_seconds

    async def illustrate(self, request: ImageRequest) -> MediaResult:
        """One image for ``request.prompt``."""
        aspect = request.width / request.height
        size = min(IMAGE_SIZES, key=lambda s: abs(IMAGE_SIZES[s] - aspect))
        extra: dict[str, Any] = {}
        # GPT image models always answer base64 and reject response_format;
        # older models (dall-e-*) answer a URL unless asked for base64.
        if self.model.startswith("dall-e"):
            extra["response_format"] = "b64_json"
        prompt = (
            f"A warm, friendly storybook illustration for {AUDIENCE[request.age_rating]}. "
            f"No text or letters in the picture. Scene: {request.prompt}"
        )
        response = await _call(
            self.client,
            "image generation",
            self.timeout,
            self.client.images.generate(model=self.model, prompt=prompt, size=size, n=1, **extra),
        )
        if not response.data or not response.data[0].b64_json:
            raise ProviderFailed("The image service answered without base64 image data.")
        try:
            raw = base64.b64decode(response.data[0].b64_json, validate=True)
        except (binascii.Error, ValueError):
            raise ProviderFailed("The image service answered invalid base64.") from None
        _sniff_image(raw)
        try:
            png = await asyncio.to_thread(_fit_png, raw, request.width, request.height)
        except OSError:
            raise ProviderFailed(
                "The image service returned an image Pillow cannot read."
            ) from None
        return MediaResult(
            data=png, content_type=CONTENT_TYPES["png"], provider=self.name, model=self.model
        )


async def _measure(tools: MediaTools | None, data: bytes, suffix: str) -> float | None:
    """Duration by ffprobe when it is installed; ``None`` otherwise (never an error)."""
    if tools is None or tools.find("ffprobe") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="storyhub-probe-") as folder:
        path = Path(folder) / f"media.{suffix}"
        await asyncio.to_thread(path.write_bytes, data)
        try:
            return round((await probe_file(tools, str(path))).duration_seconds, 3)
        except (ProviderFailed, ProviderUnavailable):
            return None


class OpenAIAudioProvider:
    """``audio.speech.create`` in Opus or MP3."""

    name = OPENAI

    def __init__(
        self, client: AsyncOpenAI, ai: AISettings, tools: MediaTools | None = None
    ) -> None:
        self.client = client
        self.model = ai.speech_model
        self.voice = ai.speech_voice
        self.timeout = ai.timeout_seconds
        self.tools = tools

    async def narrate(self, request: SpeechRequest) -> MediaResult:
        """Speech for ``request.text``; the duration is measured when ffprobe is here."""
        response = await _call(
            self.client,
            "speech",
            self.timeout,
            self.client.audio.speech.create(
                model=self.model,
                voice=request.voice or self.voice,
                input=request.text,
                response_format=request.format,
            ),
        )
        data = response.content
        if not data:
            raise ProviderFailed("The speech service returned no audio.")
        return MediaResult(
            data=data,
            content_type=CONTENT_TYPES[request.format],
            provider=self.name,
            model=self.model,
            duration_seconds=await _measure(
                self.tools, data, "ogg" if request.format == "opus" else "mp3"
            ),
        )


def _sora(call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> Awaitable[T]:
    """Start an SDK video call without its DeprecationWarning.

    The SDK marks the video API deprecated (OpenAI shut Sora down on
    2026-09-24); other compatible servers still offer the same routes. The
    warning fires synchronously when the call is made, so the filter only
    covers this line and no other coroutine.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return call(*args, **kwargs)


class OpenAIVideoProvider:
    """``videos.create``, then polling until done (within the time limit), then download."""

    name = OPENAI

    def __init__(self, client: AsyncOpenAI, ai: AISettings, *, poll_interval: float = 2.0) -> None:
        self.client = client
        self.model = ai.video_model
        self.timeout = ai.timeout_seconds
        self.poll_interval = poll_interval

    async def animate(self, request: VideoRequest) -> MediaResult:
        """A clip for ``request.prompt``, guided by the illustration when there is one."""
        seconds = min(VIDEO_SECONDS, key=lambda s: abs(s - (request.seconds or 4)))
        size = "1280x720" if request.width >= request.height else "720x1280"
        extra: dict[str, Any] = {}
        if request.image is not None:
            kind = _sniff_image(request.image)
            extra["input_reference"] = (f"reference.{kind}", request.image, f"image/{kind}")
        deadline = time.monotonic() + self.timeout
        video = await _call(
            self.client,
            "video generation",
            self.timeout,
            _sora(
                self.client.videos.create,
                prompt=request.prompt,
                model=self.model,
                seconds=str(seconds),
                size=size,
                **extra,
            ),
        )
        while video.status in ("queued", "in_progress"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderFailed(
                    f"The video {video.id} was not ready within {self.timeout:g} s."
                )
            await asyncio.sleep(min(self.poll_interval, remaining))
            video = await _call(
                self.client,
                "video status",
                max(deadline - time.monotonic(), 0.001),
                _sora(self.client.videos.retrieve, video.id),
            )
        if video.status != "completed":
            reason = video.error.message if video.error else "no reason given"
            raise ProviderFailed(f"The video service failed to make the clip: {reason}")
        content = await _call(
            self.client,
            "video download",
            max(deadline - time.monotonic(), 0.001),
            _sora(self.client.videos.download_content, video.id),
        )
        data = content.content
        if not data:
            raise ProviderFailed("The video service returned an empty file.")
        return MediaResult(
            data=data,
            content_type=CONTENT_TYPES["mp4"],
            provider=self.name,
            model=str(video.model),
            duration_seconds=float(video.seconds),
        )


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class OpenAIEffectsProvider:
    """Cues chosen by the chat model; the keyword rules answer when its JSON is unusable."""

    name = OPENAI

    def __init__(self, client: AsyncOpenAI, ai: AISettings) -> None:
        self.client = client
        self.model = ai.text_model
        self.timeout = ai.timeout_seconds
        self.fallback_model = "storyhub-effects-rules-1"

    async def cues(self, request: EffectsRequest) -> EffectsResult:
        """Cues for the text, validated against :class:`VisualEffects`."""
        schema = msgspec.json.encode(msgspec.json.schema(VisualEffects)).decode()
        response = await _call(
            self.client,
            "chat completions",
            self.timeout,
            self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {
                        "role": "system",
                        "content": "Choose visual effects for a story passage. Reply with one "
                        f"JSON object that matches this JSON schema and nothing else: {schema}",
                    },
                    {"role": "user", "content": request.text},
                ],
                max_tokens=200,
                temperature=0.2,
            ),
        )
        content = response.choices[0].message.content if response.choices else None
        match = _JSON_OBJECT.search(content or "")
        try:
            if match is None:
                raise msgspec.ValidationError("no JSON object in the answer")
            effects = msgspec.json.decode(match.group(0), type=VisualEffects)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return EffectsResult(
                effects=derive_effects(request.text, request.age_rating),
                provider="offline",
                model=self.fallback_model,
            )
        cap = INTENSITY_CAP.get(request.age_rating, INTENSITY_CAP["allAges"])
        if effects.intensity > cap:
            effects = msgspec.structs.replace(effects, intensity=cap)
        return EffectsResult(effects=effects, provider=self.name, model=self.model)
