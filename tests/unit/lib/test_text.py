"""The NUL check on raw JSON (storyhub.lib.text)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.lib.text import has_nul_escape


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"text": "a\\u0000b"}', True),
        (b'{"text": "\\u0000"}', True),
        (b'{"text": "a\\\\u0000b"}', False),  # a backslash, then the letters u0000
        (b'{"text": "a\\\\\\u0000b"}', True),  # a backslash, then a NUL
        (b'{"text": "\\u00000"}', True),
        (b'{"text": "\\u0001"}', False),
        (b'{"text": "plain"}', False),
        ('{"text": "a\\u0000"}', True),
    ],
)
def test_escaped_nul_is_found_and_escaped_backslashes_are_not(
    raw: bytes | str, expected: bool
) -> None:
    assert has_nul_escape(raw) is expected


@given(st.text())
def test_agrees_with_decoding_for_any_text(text: str) -> None:
    raw = json.dumps({"text": text})
    assert has_nul_escape(raw) == ("\x00" in json.loads(raw)["text"])
