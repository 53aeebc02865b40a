"""The committed protocol documents are exactly what the protocol Structs describe."""

from __future__ import annotations

from pathlib import Path

import msgspec
import yaml

from storyhub.sessions import protocol as p
from storyhub.sessions.specs import EXAMPLES, asyncapi_document, asyncapi_yaml, protocol_markdown

DOCS = Path(__file__).resolve().parents[3] / "docs"


class TestGeneratedDocs:
    def test_asyncapi_file_is_up_to_date(self) -> None:
        assert (DOCS / "asyncapi.yaml").read_text() == asyncapi_yaml(), (
            "run scripts/gen_asyncapi.py"
        )

    def test_protocol_markdown_is_up_to_date(self) -> None:
        assert (DOCS / "protocol.md").read_text() == protocol_markdown(), (
            "run scripts/gen_asyncapi.py"
        )

    def test_asyncapi_names_every_message_and_parses(self) -> None:
        document = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
        assert document["asyncapi"].startswith("3.")
        names = set(document["components"]["messages"])
        assert names == {c.__struct_config__.tag for c in (*p.CLIENT_COMMANDS, *p.SERVER_EVENTS)}
        assert document == asyncapi_document()

    def test_every_example_is_a_valid_frame(self) -> None:
        for cls in p.CLIENT_COMMANDS:
            frame = msgspec.json.encode(EXAMPLES[cls])
            assert p.command_decoder.decode(frame) == EXAMPLES[cls]
        for cls in p.SERVER_EVENTS:
            assert p.event_decoder.decode(p.encode_event(EXAMPLES[cls])) == EXAMPLES[cls]

    def test_every_error_and_close_code_is_documented(self) -> None:
        text = protocol_markdown()
        for code in (*p.ERROR_CODES, "notYourTurn", "clientMsgIdReused", "rateLimited"):
            assert f"`{code}`" in text
        for close in (1009, 4008, 4401, 4403, 1012):
            assert f"| {close} |" in text
