"""The EPUB container (OCF): a reproducible zip and the files every book shares.

``mimetype`` is stored first and uncompressed, as the OCF spec requires;
text is deflated, media (already compressed) stored. Every entry carries the
manuscript's moment as its time and fixed attributes, so two builds of one
manuscript are byte-identical.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import datetime
from typing import Final

import msgspec

from storyhub.books.manuscript import as_utc

ACTIVE_CLASS: Final = "-epub-media-overlay-active"
"""The class reading systems put on the segment being read aloud."""

STYLESHEET: Final = """\
body { font-family: serif; line-height: 1.5; margin: 0 5%; }
h1 { font-size: 1.6em; margin: 1.5em 0 1em; text-align: center; }
p { margin: 0 0 0.6em; text-indent: 0; }
.segment { margin: 0 0 1.2em; }
.credit { font-size: 0.85em; font-style: italic; color: #555; text-align: end; }
figure { margin: 0.8em 0; text-align: center; }
figure img { max-width: 100%; max-height: 60vh; }
.title-page { text-align: center; margin-top: 20%; }
.title-page h1 { font-size: 2.2em; }
.premise { font-style: italic; }
.draft { font-weight: bold; color: #a00; border: 2px solid #a00; padding: 0.3em; }
.cover { margin: 0; padding: 0; text-align: center; }
.cover img { max-width: 100%; max-height: 100vh; }
.-epub-media-overlay-active { background-color: #ffef9f; }
"""


class Entry(msgspec.Struct, frozen=True):
    """One file of the container."""

    path: str
    data: bytes
    compress: bool


CONTAINER_XML: Final = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n'
    b"  <rootfiles>\n"
    b'    <rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/>\n'
    b"  </rootfiles>\n</container>\n"
)


def zip_container(entries: Iterable[Entry], moment: datetime) -> bytes:
    """The zip bytes of ``entries``, in order, all stamped with ``moment`` (UTC)."""
    # Zip timestamps have no zone and start in 1980; take the manuscript's
    # moment so that two builds of one manuscript are identical.
    stamp = as_utc(moment).timetuple()[:6]
    stamp = max(stamp, (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for entry in entries:
            info = zipfile.ZipInfo(entry.path, date_time=stamp)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED if entry.compress else zipfile.ZIP_STORED
            archive.writestr(info, entry.data, compresslevel=9 if entry.compress else None)
    return out.getvalue()
