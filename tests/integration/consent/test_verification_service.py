"""ID documents on each blob store (local folder, S3 via moto) and each database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storyhub.accounts import verification
from storyhub.accounts.principal import Principal
from storyhub.accounts.tables import AgeVerificationRequest, User
from storyhub.lib.blobs import BlobStore, LocalBlobStore, S3BlobStore
from storyhub.lib.crypto import FieldCipher
from storyhub.lib.errors import Conflict
from storyhub.settings import S3Settings
from tests.conftest import TEST_SECRET

CIPHER = FieldCipher(TEST_SECRET)
PDF = b"%PDF-1.7\nPASSPORT P-1234567 JANE DOE\n%%EOF\n"


@pytest.fixture(params=["local", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
        return
    endpoint: str = request.getfixturevalue("s3_endpoint")
    store = S3BlobStore(
        S3Settings(
            bucket=f"ids-{uuid.uuid4().hex[:8]}",
            endpoint_url=endpoint,
            access_key_id="test",
            secret_access_key="test",
        )
    )
    await store.ensure_bucket()
    yield store
    await store.aclose()


async def _user(role: str = "user") -> Principal:
    user_id = uuid.uuid4()
    await User.insert(
        User(
            id=user_id,
            email=f"{user_id.hex[:12]}@example.test",
            display_name="V",
            birth_date_enc="-",
            age_tier="adult",
            status="active",
            role=role,
        )
    )
    return Principal(
        id=user_id,
        email=f"{user_id.hex[:12]}@example.test",
        display_name="V",
        role=role,  # type: ignore[arg-type]
        age_tier="adult",
        status="active",
        auth_epoch=0,
    )


async def _key(request_id: uuid.UUID) -> str:
    import json

    row = (
        await AgeVerificationRequest.select(AgeVerificationRequest.evidence_key_enc)
        .where(AgeVerificationRequest.id == request_id)
        .first()
    )
    assert row is not None
    assert row["evidence_key_enc"] is not None
    evidence = json.loads(
        CIPHER.open(row["evidence_key_enc"], context=verification.evidence_context(request_id))
    )
    key: str = evidence["key"]
    return key


async def test_document_is_sealed_in_storage_and_deleted_at_the_decision(
    db: Any, blobs: BlobStore
) -> None:
    user, moderator = await _user(), await _user("moderator")
    opened = await verification.create(
        user, "idDocument", cipher=CIPHER, google=None, id_token=None
    )
    await verification.upload_document(
        user, opened.id, "application/pdf", PDF, blobs=blobs, cipher=CIPHER
    )
    key = await _key(opened.id)
    assert key.startswith(f"verifications/{opened.id}/")
    stored = await blobs.get(key)
    assert b"PASSPORT" not in stored
    assert CIPHER.open_bytes(stored, context=verification.document_context(opened.id)) == PDF
    shown, content_type = await verification.document(opened.id, blobs=blobs, cipher=CIPHER)
    assert (shown, content_type) == (PDF, "application/pdf")

    decided = await verification.decide(
        opened.id,
        "reject",
        "unreadable",
        reviewer_id=moderator.id,
        by=str(moderator.id),
        blobs=blobs,
        cipher=CIPHER,
    )
    assert decided.status == "rejected"
    assert not await blobs.exists(key)
    with pytest.raises(Conflict):
        await verification.decide(
            opened.id,
            "approve",
            None,
            reviewer_id=moderator.id,
            by=str(moderator.id),
            blobs=blobs,
            cipher=CIPHER,
        )


async def test_a_document_cannot_be_read_as_another_requests(db: Any, blobs: BlobStore) -> None:
    user = await _user()
    first = await verification.create(user, "idDocument", cipher=CIPHER, google=None, id_token=None)
    await verification.upload_document(
        user, first.id, "application/pdf", PDF, blobs=blobs, cipher=CIPHER
    )
    sealed = await blobs.get(await _key(first.id))
    with pytest.raises(ValueError):
        CIPHER.open_bytes(sealed, context=verification.document_context(uuid.uuid4()))
