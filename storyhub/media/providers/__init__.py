"""AI/media providers: the interfaces (``base``), offline and OpenAI implementations."""

from storyhub.media.providers.base import (
    AudioProvider,
    EffectsRequest,
    EffectsResult,
    ImageProvider,
    ImageRequest,
    LoreNote,
    MediaResult,
    ProviderFailed,
    ProviderUnavailable,
    SpeechRequest,
    TextProvider,
    TextRequest,
    TextResult,
    VideoProvider,
    VideoRequest,
    VisualEffectsProvider,
)

__all__ = [
    "AudioProvider",
    "EffectsRequest",
    "EffectsResult",
    "ImageProvider",
    "ImageRequest",
    "LoreNote",
    "MediaResult",
    "ProviderFailed",
    "ProviderUnavailable",
    "SpeechRequest",
    "TextProvider",
    "TextRequest",
    "TextResult",
    "VideoProvider",
    "VideoRequest",
    "VisualEffectsProvider",
]
