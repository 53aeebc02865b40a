"""Text that every store accepts: no NUL characters.

PostgreSQL's ``text`` cannot hold U+0000 and SQLite can, so a NUL that the
embedded mode stores is a driver error in services mode. JSON can carry it
only as the escape ``\\u0000`` (a raw control character is not valid JSON), so
request bodies and WebSocket frames are checked on their raw bytes, once,
before anything decodes them: one check instead of one per text field.
"""

from __future__ import annotations

from typing import Any, AnyStr, Final

from litestar import Request

from storyhub.lib.errors import InvalidInput

NUL_MESSAGE: Final = "Text must not contain the NUL character (\\u0000)."
_ESCAPE: Final = b"\\u0000"
_ESCAPE_STR: Final = "\\u0000"


def has_nul_escape(raw: bytes | str) -> bool:
    """Whether the JSON text ``raw`` escapes a NUL: ``\\u0000``, but not ``\\\\u0000``
    (an escaped backslash followed by the letters ``u0000``). Text frames are
    searched as they are (no encoding per frame on the WebSocket path)."""
    if isinstance(raw, bytes):
        return _escaped_nul(raw, _ESCAPE, b"\\")
    return _escaped_nul(raw, _ESCAPE_STR, "\\")


def _escaped_nul(raw: AnyStr, escape: AnyStr, backslash: AnyStr) -> bool:
    at = raw.find(escape)
    while at != -1:
        first = at
        while first > 0 and raw[first - 1 : first] == backslash:
            first -= 1
        if (at - first) % 2 == 0:  # the backslash at `at` is not itself escaped
            return True
        at = raw.find(escape, at + 1)
    return False


_WITH_BODY: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def refuse_nul_text(request: Request[Any, Any, Any]) -> None:
    """The app's ``before_request`` hook: a JSON body holding a NUL is a 400
    ``nulCharacter`` and writes nothing (other bodies are files, not text)."""
    is_json = request.content_type[0] == "application/json"
    if request.method in _WITH_BODY and is_json and has_nul_escape(await request.body()):
        raise InvalidInput(NUL_MESSAGE, code="nulCharacter")
