"""The Valkey client (services mode) and URL helpers for the libraries around it."""

from __future__ import annotations

from valkey.asyncio import Valkey


def redis_compatible_url(url: str) -> str:
    """taskiq-redis accepts only ``redis://``/``rediss://``/``unix://``; Valkey speaks the same."""
    if url.startswith("valkey://"):
        return "redis://" + url.removeprefix("valkey://")
    if url.startswith("valkeys://"):
        return "rediss://" + url.removeprefix("valkeys://")
    return url


def open_valkey(url: str) -> Valkey:
    """A pooled async client; the caller owns it and must ``aclose()`` it."""
    return Valkey.from_url(redis_compatible_url(url), decode_responses=False)
