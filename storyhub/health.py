"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from storyhub.lib import database


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", sync_to_thread=False)
    def live(self) -> dict[str, str]:
        """200 while the process serves requests."""
        return {"status": "ok"}

    @get("/ready")
    async def ready(self, state: State) -> Response[Readiness]:
        """200 when every configured dependency answers, else 503 naming the failing ones."""
        services = state.services
        checks: dict[str, str] = {}

        async def check(name: str, probe: Any) -> None:
            try:
                await asyncio.wait_for(probe, timeout=2.0)
                checks[name] = "ok"
            except Exception as exc:  # any failure means "not ready"
                checks[name] = f"error: {type(exc).__name__}"

        await check("database", database.ping(services.engine))
        if services.valkey is not None:
            await check("valkey", services.valkey.ping())
        ok = all(v == "ok" for v in checks.values())
        return Response(
            Readiness(status="ok" if ok else "unavailable", checks=checks),
            status_code=200 if ok else 503,
        )
