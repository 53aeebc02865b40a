"""Consent scopes and the features they unlock: pure rules, no I/O.

A parent consents to each scope separately:

``participate``
    take part at all (without it the account stays ``pendingConsent``);
``aiFeatures``
    the child's text may be sent to a third-party AI provider;
``mediaGeneration``
    images, audio and video may be generated from the child's content;
``publicLibrary``
    the child's finished stories may be listed in the public library.

Features name what the code is about to do; each needs a set of scopes.
Generating media through a third-party provider sends the child's content
out of storyhub, so it needs ``aiFeatures`` as well as ``mediaGeneration``.
"""

from __future__ import annotations

from typing import Final, Literal

Scope = Literal["participate", "aiFeatures", "mediaGeneration", "publicLibrary"]
Feature = Literal[
    "takePart",
    "aiProvider",
    "mediaGeneration",
    "mediaGenerationByAiProvider",
    "publicLibrary",
]

ALL_SCOPES: Final[frozenset[str]] = frozenset(
    {"participate", "aiFeatures", "mediaGeneration", "publicLibrary"}
)
NO_SCOPES: Final[frozenset[str]] = frozenset()
REQUIRED_SCOPE: Final[str] = "participate"

FEATURE_SCOPES: Final[dict[str, frozenset[str]]] = {
    "takePart": frozenset({"participate"}),
    "aiProvider": frozenset({"participate", "aiFeatures"}),
    "mediaGeneration": frozenset({"participate", "mediaGeneration"}),
    "mediaGenerationByAiProvider": frozenset({"participate", "mediaGeneration", "aiFeatures"}),
    "publicLibrary": frozenset({"participate", "publicLibrary"}),
}


def allowed(scopes: frozenset[str], feature: Feature) -> bool:
    """True when ``scopes`` cover everything ``feature`` needs (unknown features: never)."""
    needed = FEATURE_SCOPES.get(feature)
    return needed is not None and needed <= scopes


def normalise_scopes(requested: list[str]) -> frozenset[str]:
    """The requested scopes as a set; ``ValueError`` names an unknown one."""
    unknown = sorted(set(requested) - ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown consent scope {unknown[0]!r}")
    return frozenset(requested)


def effective_scopes(
    *,
    status: str,
    age_tier: str,
    has_parental_link: bool,
    consented: frozenset[str] | None,
) -> frozenset[str]:
    """What a user may do, from their account and their current consent (if any).

    - inactive accounts (waiting for consent, deactivated): nothing;
    - a linked child: exactly what the parent granted (fail closed: nothing
      when no consent record is current);
    - an unlinked ``child`` tier account: nothing, because under 13 consent
      is needed everywhere, so a missing link means something is wrong;
    - everyone else (adults, teens at or above their country's consent age):
      everything.
    """
    if status != "active":
        return NO_SCOPES
    if has_parental_link:
        return consented if consented is not None else NO_SCOPES
    if age_tier == "child":
        return NO_SCOPES
    return ALL_SCOPES


def sorted_scopes(scopes: frozenset[str]) -> list[str]:
    """Scopes in a stable order for the wire and the audit log."""
    order = ["participate", "aiFeatures", "mediaGeneration", "publicLibrary"]
    return [scope for scope in order if scope in scopes]
