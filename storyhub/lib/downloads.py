"""Answering a download of a stored blob, after the caller was authorized.

S3 hands out a short-lived presigned URL (a redirect); the local folder is
streamed by the app itself. Keys always come from the server's own rows.
"""

from __future__ import annotations

from typing import Literal

from litestar.response import File, Redirect

from storyhub.lib.blobs import BlobNotFound, BlobStore, LocalBlobStore

DOWNLOAD_URL_SECONDS = 300


async def blob_download(
    blobs: BlobStore,
    key: str,
    *,
    filename: str,
    content_type: str,
    disposition: Literal["attachment", "inline"],
) -> File | Redirect:
    """A redirect to a short-lived URL, or the bytes themselves."""
    url = await blobs.url_for(key, expires_in=DOWNLOAD_URL_SECONDS)
    if url is not None:
        return Redirect(path=url, status_code=302)
    if not isinstance(blobs, LocalBlobStore):
        raise BlobNotFound("The file cannot be served.")
    return File(
        path=blobs.path_for(key),
        filename=filename,
        media_type=content_type,
        content_disposition_type=disposition,
    )
