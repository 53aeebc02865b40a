"""The address a request came from, as the audit log records it."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The caller's address; uvicorn has already believed ``X-Forwarded-For`` from
    ``STORYHUB_TRUSTED_PROXIES`` only. ``None`` when the server does not know it."""
    return connection.client.host if connection.client else None
