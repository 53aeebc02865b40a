"""Write docs/protocol.md and docs/asyncapi.yaml from the protocol Structs.

Usage: ``python scripts/gen_asyncapi.py`` (write) or ``--check`` (exit 1 when
the committed files differ from what the code describes).
"""

from __future__ import annotations

import sys
from pathlib import Path

from storyhub.sessions.specs import asyncapi_yaml, protocol_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"
TARGETS = {DOCS / "asyncapi.yaml": asyncapi_yaml, DOCS / "protocol.md": protocol_markdown}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, build in TARGETS.items():
        text = build()
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path}")
    if stale:
        print(f"out of date: {', '.join(stale)}; run scripts/gen_asyncapi.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
