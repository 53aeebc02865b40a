"""A running server answers its probes in both modes."""

from __future__ import annotations

import httpx

from tests.support.server import ServerProcess


def test_ready_reports_every_dependency(server: ServerProcess) -> None:
    response = httpx.get(server.base_url + "/health/ready")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    if "STORYHUB_VALKEY_URL" in server.env:
        assert checks["valkey"] == "ok"


def test_openapi_document_is_served(server: ServerProcess) -> None:
    response = httpx.get(server.base_url + "/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "storyhub"
