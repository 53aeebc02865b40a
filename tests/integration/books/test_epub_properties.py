"""Whatever writers type, the EPUB's documents are well-formed XML and the PDF builds."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from xml.etree import ElementTree

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storyhub.books.build import build_epub, build_pdf
from storyhub.books.manuscript import Credit, Manuscript, Segment

texts = st.text(st.characters(codec=None, exclude_categories=()), min_size=1, max_size=80)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(texts, min_size=1, max_size=6),
    texts,
    st.sampled_from(["en", "ar", "he-IL", "zz-Latn"]),
)
def test_any_text_gives_well_formed_documents(
    segment_texts: list[str], title: str, language: str
) -> None:
    manuscript = Manuscript(
        identifier="story",
        title=title.strip() or "t",
        premise=title,
        language=language,
        age_rating="teen",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        collaborators=(Credit(name=title, role="owner"),),
        segments=tuple(
            Segment(seq=i, text=text, credit=title or "x")
            for i, text in enumerate(segment_texts, start=1)
        ),
    )
    data = build_epub(manuscript)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith((".xhtml", ".opf", ".smil", ".xml")):
                ElementTree.fromstring(archive.read(name))  # raises on malformed XML
    assert build_pdf(manuscript).startswith(b"%PDF-")
