"""HTTP glue for data exports: ``/users/me/export`` and a parent's ``.../children/{id}/export``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.datastructures import State

from storyhub.accounts.principal import Principal
from storyhub.datarights import export
from storyhub.datarights.schemas import DataExport
from storyhub.lib.clients import client_ip
from storyhub.lib.crypto import FieldCipher

# A download, never cached on the way: it holds everything about a person.
_HEADERS = {"Cache-Control": "no-store"}


def _download(document: DataExport, user_id: UUID) -> Response[DataExport]:
    name = f"storyhub-export-{user_id}.json"
    return Response(
        document,
        headers={**_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


class ExportController(Controller):
    """The right of access: everything storyhub holds about an account, as JSON."""

    tags = ["data rights"]

    @get("/users/me/export")
    async def export_mine(
        self, request: Request[Principal, Any, State], cipher: FieldCipher
    ) -> Response[DataExport]:
        """Everything about the caller's account and what it wrote (audited)."""
        document = await export.export_own(cipher, request.user, client_ip(request))
        return _download(document, request.user.id)

    @get("/parents/children/{child_id:uuid}/export")
    async def export_child(
        self, request: Request[Principal, Any, State], child_id: UUID, cipher: FieldCipher
    ) -> Response[DataExport]:
        """Everything about a linked child's account, for the parent to review (audited)."""
        document = await export.export_child(cipher, request.user, child_id, client_ip(request))
        return _download(document, child_id)


ROUTE_HANDLERS: list[Any] = [ExportController]
