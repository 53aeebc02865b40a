"""HTTP glue for background jobs: ``GET /tasks/{taskId}``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get

from storyhub.accounts.auth import require_active
from storyhub.accounts.principal import Principal
from storyhub.jobs import service
from storyhub.jobs.schemas import TaskOut


class TaskController(Controller):
    """The state of work the caller asked for (media, books)."""

    path = "/tasks"
    tags = ["tasks"]
    guards = [require_active]

    @get("/{task_id:uuid}")
    async def get_task(self, request: Request[Any, Any, Any], task_id: UUID) -> TaskOut:
        """``{status, result?, error?}`` for the task's requester; 404 for anyone else."""
        principal: Principal = request.user
        return await service.get_task(principal, task_id)


ROUTE_HANDLERS = [TaskController]
