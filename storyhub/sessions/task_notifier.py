"""The :class:`StoryNotifier` background tasks report through, wherever they run.

Tasks (media, the narrator's text, books) run in the API process in embedded
mode and in ``storyhub worker`` processes in services mode. The API process
installs its own notifier (:func:`install_task_notifier`, done by the
sessions lifespan), which hands messages straight to the local actors. A
worker has none: it publishes through Valkey with a ``ValkeyNotifier`` on a
client opened on first use and closed when the worker stops; every API
node's inbox listener picks the message up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskiq import TaskiqEvents, TaskiqState

from storyhub.lib.broker import broker
from storyhub.lib.kv import open_valkey
from storyhub.settings import load_settings

if TYPE_CHECKING:
    from valkey.asyncio import Valkey

    from storyhub.sessions.inbox import StoryNotifier

_installed: StoryNotifier | None = None
_worker_valkey: Valkey | None = None
_worker_notifier: StoryNotifier | None = None


def install_task_notifier(notifier: StoryNotifier | None) -> None:
    """Report from tasks in this process through ``notifier`` (``None`` forgets it)."""
    global _installed
    _installed = notifier


def task_notifier() -> StoryNotifier | None:
    """This process's notifier; ``None`` in embedded mode without an app (no room to tell)."""
    global _worker_valkey, _worker_notifier
    if _installed is not None:
        return _installed
    if _worker_notifier is None:
        url = load_settings().valkey_url
        if url is None:
            return None
        from storyhub.sessions.inbox import ValkeyNotifier

        _worker_valkey = open_valkey(url)
        _worker_notifier = ValkeyNotifier(_worker_valkey)
    return _worker_notifier


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_task_notifier(_: TaskiqState) -> None:
    """Close the worker's Valkey client when it stops."""
    global _worker_valkey, _worker_notifier
    if _worker_valkey is not None:
        await _worker_valkey.aclose()
    _worker_valkey = _worker_notifier = None
