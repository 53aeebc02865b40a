"""Choosing providers from settings and reporting what is available.

With ``STORYHUB_OPENAI_BASE_URL`` or ``STORYHUB_OPENAI_API_KEY`` set, the kinds
listed in ``STORYHUB_AI_OPENAI_KINDS`` (default: all) go to that endpoint and
the rest stay offline; with neither set, everything is offline. Offline text
is the rule-based narrator, or with ``STORYHUB_AI_TEXT_PROVIDER=local-llm`` a
small LLM run in-process; offline audio is espeak-ng, or with
``STORYHUB_AI_AUDIO_PROVIDER=piper`` a neural voice run in-process. Nothing else
in the code asks which provider it has.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
import msgspec
from openai import AsyncOpenAI

from storyhub.media.providers.base import (
    AudioProvider,
    ImageProvider,
    TextProvider,
    VideoProvider,
    VisualEffectsProvider,
)
from storyhub.media.providers.local_llm import LocalLlmTextProvider
from storyhub.media.providers.offline import (
    EspeakAudioProvider,
    FfmpegVideoProvider,
    NarratorTextProvider,
    PillowImageProvider,
    RuleEffectsProvider,
)
from storyhub.media.providers.openai_compat import (
    OpenAIAudioProvider,
    OpenAIEffectsProvider,
    OpenAIImageProvider,
    OpenAITextProvider,
    OpenAIVideoProvider,
    build_client,
)
from storyhub.media.providers.piper_voice import PiperAudioProvider
from storyhub.media.tools import MediaTools, ToolStatus
from storyhub.settings import Settings

TOOLS_NEEDED: dict[str, tuple[str, ...]] = {
    "audio": ("espeak-ng", "ffmpeg"),
    "video": ("ffmpeg", "ffprobe"),
}
"""Programs each offline kind runs (text, image and effects need none)."""


def openai_configured(settings: Settings) -> bool:
    """True when an OpenAI-compatible endpoint is configured."""
    return settings.openai_base_url is not None or settings.openai_api_key is not None


@dataclass
class MediaProviders:
    """One provider per kind, chosen once from settings; owns the SDK client."""

    text: TextProvider
    image: ImageProvider
    audio: AudioProvider
    video: VideoProvider
    effects: VisualEffectsProvider
    tools: MediaTools
    client: AsyncOpenAI | None = None

    def by_kind(
        self,
    ) -> dict[
        str, TextProvider | ImageProvider | AudioProvider | VideoProvider | VisualEffectsProvider
    ]:
        """The providers keyed by kind name (``text``, ``image``, ...)."""
        return {
            "text": self.text,
            "image": self.image,
            "audio": self.audio,
            "video": self.video,
            "effects": self.effects,
        }

    async def aclose(self) -> None:
        """Close the SDK's HTTP connections (offline providers hold none)."""
        if self.client is not None:
            await self.client.close()


def build_providers(
    settings: Settings,
    *,
    http_client: httpx2.AsyncClient | None = None,
    allow_remote: bool = True,
) -> MediaProviders:
    """The providers ``settings`` select (``http_client`` lets tests mock the endpoint).

    ``allow_remote=False`` gives the offline providers whatever the settings
    say: for content whose author has not consented to third-party AI.
    """
    ai = settings.ai
    tools = MediaTools(search_path=ai.tool_path)
    remote_wanted = allow_remote and openai_configured(settings)
    client = build_client(settings, http_client) if remote_wanted else None

    def remote(kind: str) -> bool:
        return client is not None and kind in ai.openai_kinds

    # Text that stays here: the rule-based narrator, or a small LLM in-process.
    local_text: TextProvider = (
        LocalLlmTextProvider(ai) if ai.text_provider == "local-llm" else NarratorTextProvider()
    )
    text: TextProvider = OpenAITextProvider(client, ai) if client and remote("text") else local_text
    image: ImageProvider = (
        OpenAIImageProvider(client, ai) if client and remote("image") else PillowImageProvider()
    )
    # Speech that stays here: espeak-ng, or piper's neural voice in-process.
    local_audio: AudioProvider = (
        PiperAudioProvider(tools, ai.timeout_seconds)
        if ai.audio_provider == "piper"
        else EspeakAudioProvider(tools, ai.timeout_seconds)
    )
    audio: AudioProvider = (
        OpenAIAudioProvider(client, ai, tools) if client and remote("audio") else local_audio
    )
    video: VideoProvider = (
        OpenAIVideoProvider(client, ai)
        if client and remote("video")
        else FfmpegVideoProvider(tools, ai.timeout_seconds)
    )
    effects: VisualEffectsProvider = (
        OpenAIEffectsProvider(client, ai) if client and remote("effects") else RuleEffectsProvider()
    )
    return MediaProviders(
        text=text,
        image=image,
        audio=audio,
        video=video,
        effects=effects,
        tools=tools,
        client=client,
    )


class ProviderStatus(msgspec.Struct, frozen=True, rename="camel"):
    """Which implementation serves one kind, and whether it can run here."""

    kind: str
    provider: str
    model: str
    available: bool
    problem: str | None = None


class MediaReport(msgspec.Struct, frozen=True, rename="camel"):
    """What ``/health/ready`` shows about AI and media."""

    ready: bool
    providers: list[ProviderStatus]
    tools: list[ToolStatus]
    openai_base_url: str | None = None


async def media_report(providers: MediaProviders, settings: Settings) -> MediaReport:
    """Providers per kind and the media programs found here (versions cached).

    Only the programs an offline provider in use needs, or a local LLM or piper
    voice whose extra or model file is missing, make ``ready`` false; a remote endpoint is
    not called here (that would cost money per probe).
    """
    tool_status = {
        name: await providers.tools.status(name) for name in ("espeak-ng", "ffmpeg", "ffprobe")
    }
    statuses = []
    for kind, provider in providers.by_kind().items():
        missing = (
            [t for t in TOOLS_NEEDED.get(kind, ()) if not tool_status[t].available]
            if provider.name == "offline"
            else []
        )
        # A provider may say itself why it cannot run (the local LLM or piper without
        # its extra, piper without ffmpeg).
        check = getattr(provider, "problem", None)
        problem = f"{', '.join(missing)} not installed" if missing else check() if check else None
        statuses.append(
            ProviderStatus(
                kind=kind,
                provider=provider.name,
                model=provider.model,
                available=problem is None,
                problem=problem,
            )
        )
    return MediaReport(
        ready=all(s.available for s in statuses),
        providers=statuses,
        tools=list(tool_status.values()),
        openai_base_url=settings.openai_base_url if providers.client is not None else None,
    )
