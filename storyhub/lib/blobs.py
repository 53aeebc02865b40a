"""Blob storage: a local folder (embedded) or an S3-compatible bucket (services).

Keys are made by the server (see ``storyhub.media.keys``) and validated here
again, so that no key can leave the folder or the bucket prefix: segments of
letters, digits, ``.``, ``_`` and ``-`` separated by ``/``, none starting with
a dot. Downloads are authorized by the API: S3 objects through short-lived
presigned GET URLs, local files through an authorized streaming route (the
local store has no URLs of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from storyhub.lib.errors import InvalidInput, NotFound, Unavailable
from storyhub.settings import S3Settings

MAX_KEY_LENGTH = 512
_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")
DEFAULT_URL_SECONDS = 300


class BlobNotFound(NotFound):
    code = "blobNotFound"


class InvalidBlobKey(InvalidInput):
    code = "invalidBlobKey"


class StorageUnavailable(Unavailable):
    code = "storageUnavailable"


def validate_key(key: str) -> str:
    """``key`` if it is a safe relative key; :class:`InvalidBlobKey` otherwise."""
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise InvalidBlobKey(f"{key[:80]!r} is not a valid storage key.")
    return key


@runtime_checkable
class BlobStore(Protocol):
    """Where generated files live."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there (atomically)."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`BlobNotFound` when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def url_for(self, key: str, expires_in: int = DEFAULT_URL_SECONDS) -> str | None:
        """A short-lived download URL, or ``None`` when the API must stream the blob."""
        ...

    async def aclose(self) -> None: ...


class LocalBlobStore:
    """Files under one folder (``settings.data_dir / "blobs"`` in embedded mode)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_for(self, key: str) -> Path:
        """The file for ``key`` (for a streaming response); never outside the root."""
        path = (self.root / validate_key(key)).resolve()
        # Defence in depth: the key grammar already forbids "..", but a
        # symlink planted inside the folder must not lead out of it either.
        if not path.is_relative_to(self.root):
            raise InvalidBlobKey(f"{key[:80]!r} is not a valid storage key.")
        return path

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)  # readers see the old file or the whole new one
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write through a temporary file and an atomic rename (in a thread)."""
        await asyncio.to_thread(self._write, self.path_for(key), data)

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound("The file does not exist.") from None

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)

    async def url_for(self, key: str, expires_in: int = DEFAULT_URL_SECONDS) -> str | None:
        """Always ``None``: local files are streamed by an authorized API route."""
        validate_key(key)
        return None

    async def aclose(self) -> None:
        return None


class S3BlobStore:
    """Objects in one bucket of any S3-compatible server (AWS S3, MinIO), via aioboto3.

    Path-style addressing and SigV4 work with every such server. The client
    opens on first use and closes in :meth:`aclose`.
    """

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._presigner: Any = None
        self._lock = asyncio.Lock()

    def _client_args(self, endpoint: str | None) -> dict[str, Any]:
        from aiobotocore.config import AioConfig  # type: ignore[import-untyped]

        return {
            "service_name": "s3",
            "endpoint_url": endpoint,
            "region_name": self.settings.region,
            "aws_access_key_id": self.settings.access_key_id,
            "aws_secret_access_key": self.settings.secret_access_key,
            "config": AioConfig(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        }

    async def _clients(self) -> tuple[Any, Any]:
        async with self._lock:
            if self._client is None:
                import aioboto3  # type: ignore[import-untyped]

                session = aioboto3.Session()
                stack = AsyncExitStack()
                try:
                    self._client = await stack.enter_async_context(
                        session.client(**self._client_args(self.settings.endpoint_url))
                    )
                    public = self.settings.public_endpoint_url
                    self._presigner = (
                        await stack.enter_async_context(session.client(**self._client_args(public)))
                        if public and public != self.settings.endpoint_url
                        else self._client
                    )
                except BaseException:
                    await stack.aclose()
                    self._client = self._presigner = None
                    raise
                self._stack = stack
            return self._client, self._presigner

    async def _do(self, what: str, call: Any) -> Any:
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
        )

        try:
            return await call
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFound("The file does not exist.") from None
            raise StorageUnavailable(f"Storage refused to {what} ({code or 'error'}).") from None
        except BotoCoreError as exc:
            raise StorageUnavailable(
                f"Storage cannot be reached to {what} ({type(exc).__name__})."
            ) from None

    async def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (outside us-east-1 with a LocationConstraint)."""
        from botocore.exceptions import ClientError

        client, _ = await self._clients()
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket"):
                raise StorageUnavailable(
                    f"Storage refused access to bucket {self.bucket}."
                ) from None
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.settings.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            await client.create_bucket(**args)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StorageUnavailable(
                    f"Storage could not create bucket {self.bucket}."
                ) from None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        client, _ = await self._clients()
        await self._do(
            "store a file",
            client.put_object(
                Bucket=self.bucket, Key=validate_key(key), Body=data, ContentType=content_type
            ),
        )

    async def get(self, key: str) -> bytes:
        client, _ = await self._clients()
        response = await self._do(
            "read a file", client.get_object(Bucket=self.bucket, Key=validate_key(key))
        )
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        client, _ = await self._clients()
        await self._do(
            "delete a file", client.delete_object(Bucket=self.bucket, Key=validate_key(key))
        )

    async def exists(self, key: str) -> bool:
        client, _ = await self._clients()
        try:
            await self._do(
                "look up a file", client.head_object(Bucket=self.bucket, Key=validate_key(key))
            )
        except BlobNotFound:
            return False
        return True

    async def url_for(self, key: str, expires_in: int = DEFAULT_URL_SECONDS) -> str | None:
        """A presigned GET URL valid for ``expires_in`` seconds (1 s to 7 days)."""
        if not 1 <= expires_in <= 7 * 24 * 3600:
            raise InvalidInput("A download link lasts between 1 second and 7 days.")
        _, presigner = await self._clients()
        url: str = await presigner.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": validate_key(key)},
            ExpiresIn=expires_in,
        )
        return url

    async def aclose(self) -> None:
        """Close the S3 clients (safe to call twice)."""
        async with self._lock:
            if self._stack is not None:
                await self._stack.aclose()
            self._stack = None
            self._client = self._presigner = None


def build_blob_store(s3: S3Settings | None, data_dir: Path) -> BlobStore:
    """S3 when ``STORYHUB_S3_BUCKET`` is set, else files under ``data_dir/blobs``."""
    if s3 is not None:
        return S3BlobStore(s3)
    return LocalBlobStore(data_dir / "blobs")
