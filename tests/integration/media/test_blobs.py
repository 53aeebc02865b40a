"""Blob stores: a local folder and a real S3-compatible server (moto) started here."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storyhub.lib.blobs import (
    BlobNotFound,
    InvalidBlobKey,
    LocalBlobStore,
    S3BlobStore,
    build_blob_store,
)
from storyhub.lib.errors import InvalidInput
from storyhub.media.keys import media_key
from storyhub.settings import S3Settings

KEY = "stories/0d4f4a5e-8c1b-4a56-9a0e-1f2e3d4c5b6a/1/image-abc.png"


class TestLocalBlobStore:
    async def test_round_trip(self, tmp_path: Path) -> None:
        store = LocalBlobStore(tmp_path / "blobs")
        assert not await store.exists(KEY)
        await store.put(KEY, b"picture", "image/png")
        assert await store.exists(KEY)
        assert await store.get(KEY) == b"picture"
        assert store.path_for(KEY) == (tmp_path / "blobs" / KEY).resolve()
        await store.put(KEY, b"new picture", "image/png")
        assert await store.get(KEY) == b"new picture"
        await store.delete(KEY)
        assert not await store.exists(KEY)
        await store.delete(KEY)  # deleting twice is fine

    async def test_writes_leave_no_temporary_files(self, tmp_path: Path) -> None:
        store = LocalBlobStore(tmp_path)
        for i in range(3):
            await store.put(f"a/b/{i}.bin", os.urandom(1000), "application/octet-stream")
        assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == [
            "0.bin",
            "1.bin",
            "2.bin",
        ]

    async def test_missing_blob_is_not_found(self, tmp_path: Path) -> None:
        with pytest.raises(BlobNotFound) as caught:
            await LocalBlobStore(tmp_path).get("nothing/here.png")
        assert caught.value.status == 404

    async def test_no_url_for_local_files(self, tmp_path: Path) -> None:
        assert await LocalBlobStore(tmp_path).url_for(KEY) is None

    @pytest.mark.parametrize("key", ["../outside.txt", "/etc/passwd", "a/../../outside", ".x"])
    async def test_traversal_is_rejected_before_touching_disk(
        self, tmp_path: Path, key: str
    ) -> None:
        store = LocalBlobStore(tmp_path / "blobs")
        with pytest.raises(InvalidBlobKey):
            await store.put(key, b"x", "text/plain")
        with pytest.raises(InvalidBlobKey):
            await store.get(key)
        with pytest.raises(InvalidBlobKey):
            await store.delete(key)
        assert not (tmp_path / "outside.txt").exists()

    async def test_symlink_out_of_the_folder_is_rejected(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret").write_bytes(b"secret")
        root = tmp_path / "blobs"
        root.mkdir()
        (root / "link").symlink_to(outside)
        store = LocalBlobStore(root)
        with pytest.raises(InvalidBlobKey):
            await store.get("link/secret")

    def test_settings_choose_local_without_s3(self, tmp_path: Path) -> None:
        store = build_blob_store(None, tmp_path)
        assert isinstance(store, LocalBlobStore)
        assert store.root == (tmp_path / "blobs").resolve()


def s3_settings(endpoint: str, **overrides: str) -> S3Settings:
    args = {
        "bucket": f"storyhub-{uuid.uuid4().hex[:8]}",
        "endpoint_url": endpoint,
        "region": "eu-west-1",
        "access_key_id": "test",
        "secret_access_key": "test",
        **overrides,
    }
    return S3Settings(**args)  # type: ignore[arg-type]


@pytest.fixture
async def s3_store(s3_endpoint: str) -> AsyncIterator[S3BlobStore]:
    store = S3BlobStore(s3_settings(s3_endpoint))
    await store.ensure_bucket()
    yield store
    await store.aclose()


class TestS3BlobStore:
    async def test_round_trip(self, s3_store: S3BlobStore) -> None:
        key = media_key(uuid.uuid4(), 2, "audio", "audio/ogg")
        assert not await s3_store.exists(key)
        await s3_store.put(key, b"OggS-bytes", "audio/ogg")
        assert await s3_store.exists(key)
        assert await s3_store.get(key) == b"OggS-bytes"
        await s3_store.delete(key)
        assert not await s3_store.exists(key)
        with pytest.raises(BlobNotFound):
            await s3_store.get(key)

    async def test_presigned_get_returns_the_bytes_with_the_content_type(
        self, s3_store: S3BlobStore
    ) -> None:
        key = media_key(uuid.uuid4(), 1, "image", "image/png")
        payload = os.urandom(2048)
        await s3_store.put(key, payload, "image/png")
        url = await s3_store.url_for(key, expires_in=60)
        assert url is not None
        assert "X-Amz-Signature=" in url
        assert "X-Amz-Expires=60" in url
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(url)
            assert response.status_code == 200
            assert response.content == payload
            assert response.headers["content-type"] == "image/png"
            # Without the signature the object is not readable.
            bare = await client.get(url.split("?", 1)[0])
            assert bare.status_code == 403

    async def test_ensure_bucket_outside_us_east_1_and_twice(self, s3_endpoint: str) -> None:
        store = S3BlobStore(s3_settings(s3_endpoint, region="eu-central-1"))
        try:
            await store.ensure_bucket()
            await store.ensure_bucket()
            await store.put("x/y", b"1", "text/plain")
            assert await store.get("x/y") == b"1"
        finally:
            await store.aclose()

    async def test_bucket_in_us_east_1(self, s3_endpoint: str) -> None:
        store = S3BlobStore(s3_settings(s3_endpoint, region="us-east-1"))
        try:
            await store.ensure_bucket()
            assert not await store.exists("nothing")
        finally:
            await store.aclose()

    async def test_public_endpoint_is_used_in_download_urls(
        self, s3_store: S3BlobStore, s3_endpoint: str
    ) -> None:
        public = S3BlobStore(
            s3_settings(
                s3_endpoint,
                bucket=s3_store.bucket,
                public_endpoint_url="https://files.example.test",
            )
        )
        try:
            url = await public.url_for(KEY)
            assert url is not None
            assert url.startswith(f"https://files.example.test/{s3_store.bucket}/{KEY}?")
        finally:
            await public.aclose()

    async def test_bad_keys_and_expiries_are_rejected(self, s3_store: S3BlobStore) -> None:
        with pytest.raises(InvalidBlobKey):
            await s3_store.put("../x", b"1", "text/plain")
        with pytest.raises(InvalidInput):
            await s3_store.url_for(KEY, expires_in=0)

    def test_settings_choose_s3_when_configured(self, tmp_path: Path) -> None:
        assert isinstance(build_blob_store(S3Settings(bucket="b"), tmp_path), S3BlobStore)
