"""HTTP glue for media: request generation, download an asset, read usage.

``POST /stories/{id}/segments/{seq}/media {kind}`` and ``POST
/stories/{id}/cover`` queue work (202 with ``taskId``); ``GET
/media/{assetId}`` redirects to a short-lived presigned URL (S3) or streams
the file (local folder) — always after checking that the caller collaborates
on the story; ``GET /users/me/usage`` reports the caller's quota.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, Parameter
from litestar.response import File, Redirect

from storyhub.accounts.auth import require_active
from storyhub.accounts.principal import Principal
from storyhub.lib.downloads import blob_download
from storyhub.media import service
from storyhub.media.schemas import MediaAccepted, MediaRequest, MediaUsage
from storyhub.media.tasks import generate_media, media_runtime
from storyhub.settings import Settings
from storyhub.stories.schemas import SEQ_MAX


def _caller(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal = request.user
    return principal


async def _enqueue(job: service.MediaJob) -> None:
    await generate_media.kiq(
        str(job.story_id),
        job.seq,
        job.kind,
        job_id=str(job.job_id),
        allow_remote=job.allow_remote,
        requested_by=str(job.requested_by),
    )


class MediaController(Controller):
    """Generated media of a story: request, download, usage."""

    path = "/"
    tags = ["media"]
    guards = [require_active]

    @post("/stories/{story_id:uuid}/segments/{seq:int}/media", status_code=202)
    async def request_segment_media(
        self,
        request: Request[Any, Any, Any],
        settings: Settings,
        story_id: UUID,
        seq: Annotated[int, Parameter(ge=1, le=SEQ_MAX)],
        data: JSONBody[MediaRequest],
    ) -> MediaAccepted:
        """Queue an illustration, narration or video of one segment (writers only)."""
        return await service.request_media(
            _caller(request), story_id, seq, data.kind, service.limits_from(settings), _enqueue
        )

    @post("/stories/{story_id:uuid}/cover", status_code=202)
    async def request_cover(
        self, request: Request[Any, Any, Any], settings: Settings, story_id: UUID
    ) -> MediaAccepted:
        """Queue the story's cover art (writers only); no body."""
        return await service.request_media(
            _caller(request),
            story_id,
            None,
            service.COVER_KIND,
            service.limits_from(settings),
            _enqueue,
        )

    @get("/media/{asset_id:uuid}", status_code=200)
    async def download_media(
        self, request: Request[Any, Any, Any], asset_id: UUID
    ) -> File | Redirect:
        """The asset's file: a redirect to a short-lived URL, or the bytes themselves."""
        found = await service.media_download(_caller(request), asset_id)
        return await blob_download(
            media_runtime().blobs,
            found.key,
            filename=found.filename,
            content_type=found.content_type,
            disposition="inline",
        )

    @get("/users/me/usage")
    async def my_usage(self, request: Request[Any, Any, Any], settings: Settings) -> MediaUsage:
        """The caller's media requests in the last 24 hours, by kind, and the limits."""
        return await service.usage(_caller(request), service.limits_from(settings))


ROUTE_HANDLERS = [MediaController]
