"""Normalise and validate what people type into account forms; pure functions."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import msgspec

from storyhub.lib.errors import InvalidInput

MAX_EMAIL_LENGTH = 254
MAX_DISPLAY_NAME_LENGTH = 80
MAX_PREFERENCES_BYTES = 8 * 1024

# Deliberately simple: one @, a dot in the domain, no spaces or control
# characters. Whether the mailbox exists is for a confirmation mail to find out.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def normalise_email(raw: str) -> str:
    """``raw`` stripped and lower-cased; :class:`InvalidInput` if it is not an email."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not email.isprintable() or _EMAIL.fullmatch(email) is None:
        raise InvalidInput("The email address is not valid.", code="invalidEmail")
    return email


def clean_display_name(raw: str) -> str:
    """A trimmed display name of 1-80 printable characters."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidInput("The display name must not be empty.", code="invalidDisplayName")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInput(
            f"The display name must be at most {MAX_DISPLAY_NAME_LENGTH} characters long.",
            code="invalidDisplayName",
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidInput(
            "The display name must not contain control characters.", code="invalidDisplayName"
        )
    return name


def merge_preferences(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Shallow-merge ``patch`` into ``current``; a ``null`` value removes the key."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(msgspec.json.encode(merged)) > MAX_PREFERENCES_BYTES:
        raise InvalidInput(
            f"Preferences must stay below {MAX_PREFERENCES_BYTES} bytes of JSON.",
            code="preferencesTooLarge",
        )
    return merged
