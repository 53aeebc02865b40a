"""Who a book credits, and under which name: a pure rule.

No personal data of a child ever appears in a book. A minor is credited by
a stable pseudonym that the caller supplies (where pseudonyms come from is
the accounts domain's decision; :func:`suggest_pseudonym` derives one from a
stable key when nothing else exists). An adult is credited by display name,
unless that name carries an email address. The AI is "the narrator".

The functions here never see an email or a birth date; callers pass only a
display name, whether the person is a minor, and the pseudonym.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final

import msgspec

from storyhub.books.manuscript import Credit, CreditRole, ManuscriptError
from storyhub.books.text import clean_text

NARRATOR_CREDIT: Final = "the narrator"
UNNAMED_ADULT_CREDIT: Final = "a co-author"
MAX_CREDIT_LENGTH: Final = 60

_EMAIL = re.compile(r"\S+@\S+")
_SPACES = re.compile(r"\s+")

_ADJECTIVES: Final = (
    "Brave", "Bright", "Clever", "Curious", "Daring", "Gentle", "Happy", "Jolly", "Kind",
    "Lucky", "Merry", "Mighty", "Nimble", "Quiet", "Quick", "Sunny", "Swift", "Wise",
    "Witty", "Cosmic", "Golden", "Silver", "Starry", "Misty",
)  # fmt: skip
_ANIMALS: Final = (
    "Otter", "Fox", "Owl", "Badger", "Panda", "Dolphin", "Falcon", "Hedgehog", "Koala",
    "Lynx", "Penguin", "Rabbit", "Robin", "Squirrel", "Tiger", "Turtle", "Whale", "Wolf",
    "Dragon", "Unicorn", "Comet", "Pebble", "Maple", "Willow",
)  # fmt: skip


class Contributor(msgspec.Struct, frozen=True, kw_only=True):
    """What the credit rule may know about one writer."""

    user_id: str | None
    """``None`` for the AI narrator."""
    display_name: str = ""
    is_minor: bool = False
    pseudonym: str | None = None
    role: CreditRole = "author"


def _tidy(name: str) -> str:
    return _SPACES.sub(" ", clean_text(name)).strip()[:MAX_CREDIT_LENGTH].strip()


def _name_tokens(name: str) -> set[str]:
    return {token for token in re.split(r"\W+", name.casefold()) if len(token) >= 3}


def credit_name(contributor: Contributor) -> str:
    """The name printed for ``contributor``.

    Raises :class:`ManuscriptError` for a minor without a pseudonym, or whose
    pseudonym contains a word of their real display name: printing a child's
    name by accident must be impossible, not unlikely.
    """
    if contributor.user_id is None:
        return NARRATOR_CREDIT
    if contributor.is_minor:
        pseudonym = _tidy(_EMAIL.sub("", contributor.pseudonym or ""))
        if not pseudonym:
            raise ManuscriptError("a minor can only be credited under a pseudonym")
        if _name_tokens(pseudonym) & _name_tokens(contributor.display_name):
            raise ManuscriptError("a minor's pseudonym must not contain their real name")
        return pseudonym
    name = _tidy(_EMAIL.sub("", contributor.display_name))
    if name:
        return name
    return _tidy(contributor.pseudonym or "") or UNNAMED_ADULT_CREDIT


def collaborator_credits(contributors: Iterable[Contributor]) -> tuple[Credit, ...]:
    """The colophon's list: each contributor once, in the order given."""
    credits: list[Credit] = []
    seen: set[str | None] = set()
    for contributor in contributors:
        key = contributor.user_id
        if key in seen:
            continue
        seen.add(key)
        role: CreditRole = "narrator" if contributor.user_id is None else contributor.role
        credits.append(Credit(name=credit_name(contributor), role=role))
    return tuple(credits)


def suggest_pseudonym(key: bytes) -> str:
    """A friendly, stable pseudonym ("Brave Otter 17") derived from ``key``.

    ``key`` should be secret-keyed (e.g. an HMAC of the user id) so that the
    pseudonym reveals nothing; the same key always gives the same name.
    """
    digest = hashlib.blake2b(key, digest_size=8).digest()
    adjective = _ADJECTIVES[digest[0] % len(_ADJECTIVES)]
    animal = _ANIMALS[digest[1] % len(_ANIMALS)]
    number = int.from_bytes(digest[2:4], "big") % 90 + 10
    return f"{adjective} {animal} {number}"
