"""Who may build a book, and when it is a draft."""

from __future__ import annotations

import pytest

from storyhub.books.policy import NOT_COMPLETED, build_decision, can_download


class TestBuildDecision:
    @pytest.mark.parametrize("role", ["owner", "editor", "author", "viewer"])
    def test_any_collaborator_builds_a_completed_story(self, role: str) -> None:
        decision = build_decision(role, "completed")  # type: ignore[arg-type]
        assert decision.allowed
        assert not decision.draft

    def test_owner_builds_a_draft_of_an_unfinished_story(self) -> None:
        decision = build_decision("owner", "active")
        assert decision.allowed
        assert decision.draft

    @pytest.mark.parametrize("role", ["editor", "author", "viewer"])
    def test_others_cannot_build_an_unfinished_story(self, role: str) -> None:
        decision = build_decision(role, "active")  # type: ignore[arg-type]
        assert not decision.allowed
        assert decision.denial is not None
        assert decision.denial.code == NOT_COMPLETED

    def test_strangers_build_nothing(self) -> None:
        assert not build_decision(None, "completed").allowed


def test_only_collaborators_download() -> None:
    assert can_download("viewer")
    assert not can_download(None)
