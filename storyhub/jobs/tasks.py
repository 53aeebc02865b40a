"""A task that does nothing but say when it started: for benchmarks and health checks."""

from __future__ import annotations

import time

from storyhub.lib.broker import broker


@broker.task(task_name="storyhub.jobs.ping")
async def ping(sent_at: float) -> dict[str, float]:
    """Answer the sender's clock reading and this worker's, taken as the task starts.

    ``sent_at`` and ``startedAt`` are ``time.time()`` readings: comparable on
    one host (or hosts with synchronised clocks).
    """
    return {"sentAt": sent_at, "startedAt": time.time()}
