"""Embedded mode: media tasks screen prompts with the app's own filter, not a second one."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyhub.media import tasks
from storyhub.sessions.hooks import PassThroughFilter
from storyhub.settings import load_settings


def test_the_runtime_uses_the_shared_filter_until_the_app_stops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tasks, "_runtime", None)
    monkeypatch.setattr(
        tasks, "load_settings", lambda: load_settings({"STORYHUB_DATA_DIR": str(tmp_path)})
    )
    shared = PassThroughFilter()
    tasks.share_prompt_filter(shared)
    try:
        runtime = tasks.media_runtime()
        assert runtime.content_filter is shared
    finally:
        tasks.share_prompt_filter(None)
    assert runtime.content_filter is None  # a stopped app's filter is not kept
