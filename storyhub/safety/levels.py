"""Safety levels, categories and severities: what each room tolerates. Pure values.

A room's level is its story's rating lowered to what its youngest member may
see. A finding has a category and a severity; a level blocks a finding at or
above its threshold:

=========  ===========================  ============================
level      blocks                       personal data
=========  ===========================  ============================
allAges    mild, strong, severe         redacted
teen       strong, severe               redacted
mature     severe only                  left as written (adults)
=========  ===========================  ============================

Severities are assigned in the curated data files (``data/lexicon.txt``,
``data/phrases.txt``): *mild* is e.g. "damn", "crap", "bloody hell"; *strong* is
e.g. "fuck", sexual content, threats, drug use, self-harm disclosure; *severe*
is what no room may carry: hate, grooming and contact-seeking, telling someone
to harm themselves, sexual content involving minors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

SafetyLevel = Literal["allAges", "teen", "mature"]
"""A story rating, and the effective level of a room."""

Severity = Literal["mild", "strong", "severe"]

Category = Literal[
    "profanity",
    "sexual",
    "violence",
    "selfHarm",
    "hate",
    "drugs",
    "grooming",
    "personalData",
    "filterUnavailable",
    "tooLong",
]

LEVELS: tuple[SafetyLevel, ...] = ("allAges", "teen", "mature")
"""From the strictest to the most permissive."""

CATEGORY_ORDER: tuple[Category, ...] = (
    "grooming",
    "selfHarm",
    "hate",
    "sexual",
    "violence",
    "drugs",
    "profanity",
    "personalData",
    "filterUnavailable",
    "tooLong",
)
"""The order categories are reported in: the most urgent for a moderator first."""

SEVERITY_RANK: dict[Severity, int] = {"mild": 1, "strong": 2, "severe": 3}

BLOCK_FROM: dict[SafetyLevel, int] = {"allAges": 1, "teen": 2, "mature": 3}
"""The lowest severity rank each level blocks."""

REDACTS_PERSONAL_DATA: dict[SafetyLevel, bool] = {"allAges": True, "teen": True, "mature": False}

TIER_LEVEL: dict[str, SafetyLevel] = {
    "child": "allAges",
    "teen": "teen",
    "olderTeen": "teen",
    "adult": "mature",
}
"""The most permissive level a member of each age tier may be exposed to."""


def blocks(level: SafetyLevel, severity: Severity) -> bool:
    """True when a finding of ``severity`` is blocked in a room at ``level``."""
    return SEVERITY_RANK[severity] >= BLOCK_FROM[level]


def stricter(a: SafetyLevel, b: SafetyLevel) -> SafetyLevel:
    """The stricter of two levels."""
    return a if LEVELS.index(a) <= LEVELS.index(b) else b


def effective_level(rating: SafetyLevel, member_tiers: Iterable[str]) -> SafetyLevel:
    """The level a room applies to everyone's text: the rating, lowered to its youngest member.

    ``member_tiers`` are age tiers (``child``, ``teen``, ``olderTeen``, ``adult``) of
    everyone present, the AI narrator excluded. An unknown tier counts as ``child``,
    so a mistake makes the room stricter, never looser.
    """
    level = rating
    for tier in member_tiers:
        level = stricter(level, TIER_LEVEL.get(tier, "allAges"))
    return level


def ordered(categories: Iterable[str]) -> list[str]:
    """Distinct categories in :data:`CATEGORY_ORDER` order."""
    present = set(categories)
    return [c for c in CATEGORY_ORDER if c in present]
