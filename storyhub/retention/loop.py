"""The retention loop in the API process: one pass every ``STORYHUB_RETENTION_INTERVAL_SECONDS``.

Every node runs the loop; the advisory lock (see :mod:`storyhub.retention.service`)
lets one of them do a pass while the others skip theirs. A failed pass is
logged and tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from storyhub.lib.blobs import BlobStore, build_blob_store
from storyhub.lib.crypto import FieldCipher
from storyhub.retention import policy, service
from storyhub.settings import RetentionSettings

log = logging.getLogger("storyhub.retention")


class RetentionLoop:
    """Runs :func:`service.run_exclusive` periodically on the running event loop."""

    def __init__(self, settings: RetentionSettings, cipher: FieldCipher, blobs: BlobStore) -> None:
        self._settings = settings
        self._cipher = cipher
        self._blobs = blobs
        self._task: asyncio.Task[None] | None = None
        self.passes = 0
        """Passes this node completed (ran or skipped for another node)."""

    async def run_once(self) -> list[service.Outcome] | None:
        report = await service.run_exclusive(self._settings, cipher=self._cipher, blobs=self._blobs)
        if report is None:
            log.info("retention pass skipped: another node holds the lock")
        else:
            removed = {o.kind: o.count for o in report if o.count}
            log.info("retention pass done", extra={"removed": removed})
        return report

    async def _loop(self) -> None:
        await asyncio.sleep(policy.first_pass_delay(self._settings))
        while True:
            try:
                await self.run_once()
            except Exception:
                # The database or storage may be briefly away; the next tick retries.
                log.exception("retention pass failed")
            self.passes += 1
            await asyncio.sleep(self._settings.interval_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


@asynccontextmanager
async def retention_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start the loop (unless the interval is 0); it stops before the database pool closes."""
    services = app.state.services
    settings: RetentionSettings = services.settings.retention
    if not policy.loop_enabled(settings):
        log.info("retention loop off (STORYHUB_RETENTION_INTERVAL_SECONDS=0)")
        yield
        return
    blobs = build_blob_store(services.settings.s3, services.settings.data_dir)
    loop = RetentionLoop(settings, services.cipher, blobs)
    app.state.retention = loop
    loop.start()
    try:
        yield
    finally:
        await loop.stop()
        await blobs.aclose()
