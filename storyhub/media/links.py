"""Where clients fetch an asset: the authorized route, never a storage key.

``/media/{assetId}`` checks that the caller collaborates on the story, then
redirects to a short-lived presigned URL (S3) or streams the file (local
folder). The same path is what ``mediaReady`` carries and what a segment's
``imageUrl``/``audioUrl``/``videoUrl`` (and a story's ``coverArtUrl``) hold.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from storyhub.media.generation import AssetRecord
from storyhub.stories.tables import Segment, Story

ROUTE_PREFIX: Final = "/media/"


def media_path(asset_id: uuid.UUID) -> str:
    """The authorized download route of an asset."""
    return f"{ROUTE_PREFIX}{asset_id}"


_SEGMENT_COLUMNS: Final[dict[str, Any]] = {
    "image": Segment.image_url,
    "audio": Segment.audio_url,
    "video": Segment.video_url,
}


async def link_asset(asset: AssetRecord) -> bool:
    """Record the asset's route on its segment (or the story, for a cover).

    Segment listings and the WebSocket replay then carry it without a join;
    an existing link is rewritten with the same value (idempotent). ``False``
    (nothing linked) when the segment was written again since the asset was
    made from it: the new text must not show the old text's media.
    """
    path = media_path(asset.id)
    if asset.kind == "cover":
        await Story.update({Story.cover_art_url: path}).where(Story.id == asset.story_id)
        return True
    column = _SEGMENT_COLUMNS.get(asset.kind)
    if column is None or asset.seq is None:
        return True
    linked = (
        await Segment.update({column: path})
        .where(
            (Segment.story == asset.story_id)
            & (Segment.seq == asset.seq)
            & (Segment.revision == asset.revision)
        )
        .returning(Segment.id)
    )
    return bool(linked)
