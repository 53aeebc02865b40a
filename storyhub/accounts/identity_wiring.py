"""What the app factory plugs in for consent, parents, age verification and mail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from storyhub.accounts.consent_controllers import ROUTE_HANDLERS as CONSENT_ROUTES
from storyhub.accounts.google import GoogleVerifier
from storyhub.accounts.verification_controllers import ROUTE_HANDLERS as VERIFICATION_ROUTES
from storyhub.lib.blobs import build_blob_store
from storyhub.mail.dispatcher import mail_lifespan
from storyhub.retention.loop import retention_lifespan
from storyhub.settings import Settings


@asynccontextmanager
async def identity_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Own the blob store for ID documents and the Google key cache."""
    settings: Settings = app.state.services.settings
    blobs = build_blob_store(settings.s3, settings.data_dir)
    google = GoogleVerifier(settings.google) if settings.google is not None else None
    app.state.identity_blobs = blobs
    app.state.google = google
    try:
        yield
    finally:
        if google is not None:
            await google.aclose()
        await blobs.aclose()


ROUTE_HANDLERS: list[Any] = [*CONSENT_ROUTES, *VERIFICATION_ROUTES]
# retention_lifespan: queued account deletions and the purge schedule (docs/safety.md).
LIFESPANS: list[Any] = [mail_lifespan, identity_lifespan, retention_lifespan]
