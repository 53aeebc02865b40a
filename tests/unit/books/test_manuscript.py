"""What a manuscript must satisfy, and how story facts become one."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from storyhub.books.assemble import (
    FORMER_COLLABORATOR_CREDIT,
    SegmentFacts,
    StoryFacts,
    assemble_manuscript,
)
from storyhub.books.credits import NARRATOR_CREDIT, Contributor
from storyhub.books.manuscript import (
    Credit,
    Illustration,
    Manuscript,
    ManuscriptError,
    Narration,
    Segment,
    as_utc,
    check_manuscript,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def manuscript(**changes: object) -> Manuscript:
    base = Manuscript(
        identifier="s1",
        title="A title",
        premise="",
        language="en",
        age_rating="allAges",
        created_at=WHEN,
        segments=(Segment(seq=1, text="a", credit="Sam"), Segment(seq=2, text="b", credit="Sam")),
    )
    return msgspec.structs.replace(base, **changes)


class TestCheckManuscript:
    def test_a_plain_manuscript_passes(self) -> None:
        check_manuscript(manuscript())

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"title": "  "}, "title"),
            ({"title": "x" * 201}, "title"),
            ({"language": ""}, "language"),
            ({"language": "en us"}, "language"),
            ({"language": 'en"><x'}, "language"),
            ({"segments": (Segment(seq=2, text="a", credit="S"),
                           Segment(seq=2, text="b", credit="S"))}, "increasing"),
            ({"segments": (Segment(seq=1, text="a", credit=" "),)}, "credit"),
            ({"cover": Illustration(data=b"GIF89a", mime="image/png")}, "not image/png"),
            ({"cover": Illustration(data=PNG, mime="image/webp")}, "image type"),
            ({"segments": (Segment(seq=1, text="a", credit="S", narration=Narration(
                data=b"OggS", mime="audio/ogg", duration_seconds=1)),)}, "audio type"),
            ({"segments": (Segment(seq=1, text="a", credit="S", narration=Narration(
                data=b"ID3", mime="audio/mpeg", duration_seconds=0)),)}, "duration"),
        ],
    )  # fmt: skip
    def test_bad_manuscripts_are_refused_with_a_reason(
        self, changes: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ManuscriptError, match=message) as caught:
            check_manuscript(manuscript(**changes))
        assert caught.value.code == "invalidManuscript"
        assert caught.value.status == 400

    def test_modified_at_is_completion_else_creation_in_utc(self) -> None:
        assert manuscript().modified_at == WHEN
        done = datetime(2026, 11, 2, 12, tzinfo=UTC)
        assert manuscript(completed_at=done).modified_at == done
        assert as_utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)


class TestAssemble:
    story = StoryFacts(
        identifier="s1", title="T", premise="", language="en", age_rating="teen", created_at=WHEN
    )

    def test_segments_get_credit_names_and_are_ordered(self) -> None:
        people = [
            Contributor(user_id="a", display_name="Sam", role="owner"),
            Contributor(user_id="k", display_name="Kid Name", is_minor=True, pseudonym="Fox 12"),
        ]
        facts = [
            SegmentFacts(seq=3, author_id="gone", text="c"),
            SegmentFacts(seq=1, author_id="k", text="a"),
            SegmentFacts(seq=2, author_id=None, text="b"),
        ]
        result = assemble_manuscript(self.story, people, facts, draft=True)
        assert [(s.seq, s.credit) for s in result.segments] == [
            (1, "Fox 12"),
            (2, NARRATOR_CREDIT),
            (3, FORMER_COLLABORATOR_CREDIT),
        ]
        assert result.collaborators == (
            Credit(name="Sam", role="owner"),
            Credit(name="Fox 12", role="author"),
            Credit(name=NARRATOR_CREDIT, role="narrator"),
        )
        assert result.draft
        assert "Kid Name" not in msgspec.json.encode(result).decode()

    def test_narrator_is_only_credited_when_it_wrote(self) -> None:
        result = assemble_manuscript(
            self.story,
            [Contributor(user_id="a", display_name="Sam", role="owner")],
            [SegmentFacts(seq=1, author_id="a", text="x")],
        )
        assert [c.role for c in result.collaborators] == ["owner"]

    def test_minor_without_pseudonym_stops_the_build(self) -> None:
        with pytest.raises(ManuscriptError, match="pseudonym"):
            assemble_manuscript(
                self.story,
                [Contributor(user_id="k", display_name="Kid", is_minor=True)],
                [SegmentFacts(seq=1, author_id="k", text="x")],
            )
