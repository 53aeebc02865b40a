"""Storage keys for generated media, made by the server and never by clients.

``stories/<story id>/<seq>/<kind>-<random>.<ext>`` (``cover`` instead of a seq
for cover art). The random part means a regenerated asset never overwrites
one a client may still be downloading.
"""

from __future__ import annotations

import uuid

from storyhub.lib.blobs import validate_key
from storyhub.lib.errors import InvalidInput

MEDIA_KINDS = ("image", "audio", "video", "cover")
EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
    "application/json": "json",
}


def media_key(story_id: uuid.UUID | str, seq: int | None, kind: str, content_type: str) -> str:
    """A fresh, unique key for one asset of a story segment (or its cover)."""
    if kind not in MEDIA_KINDS:
        raise InvalidInput(f"{kind!r} is not a media kind.", code="invalidMediaKind")
    if content_type not in EXTENSIONS:
        raise InvalidInput(f"{content_type!r} is not a stored media type.", code="invalidMediaType")
    if seq is not None and seq < 0:
        raise InvalidInput("A segment number is never negative.", code="invalidSeq")
    try:
        story = uuid.UUID(str(story_id))
    except ValueError:
        raise InvalidInput("A story id is a UUID.", code="invalidStoryId") from None
    place = "cover" if seq is None else str(seq)
    key = f"stories/{story}/{place}/{kind}-{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"
    return validate_key(key)
