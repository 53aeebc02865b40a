"""Which story memory and lore the AI narrator is told about: pure functions, no I/O.

Pinned facts always go into the prompt, in their order. A lore entry goes in
only while it is *in play*: one of its trigger words or phrases appears in the
premise or the recent segments, as a whole word or phrase, ignoring case and
how the words are spaced ("red  Dragon" triggers on "the red dragon"; "dragon"
does not trigger on "dragonfly", but does on "dragon's"). Triggered entries
are ordered by their latest mention, most recent first, and capped in number
and in characters so a busy story cannot crowd out the story itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import msgspec

from storyhub.media.providers.base import LoreNote

MAX_TRIGGERED_LORE = 5
"""At most this many lore entries go into one prompt."""
MAX_LORE_PROMPT_CHARS = 2_000
"""At most this many characters of lore (names + texts) go into one prompt."""


class LoreCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A stored lore entry as the selection sees it."""

    name: str
    triggers: tuple[str, ...]
    text: str


class PromptMemory(msgspec.Struct, frozen=True, kw_only=True):
    """What goes into a :class:`~storyhub.media.providers.base.TextRequest` besides the story."""

    facts: tuple[str, ...] = ()
    lore: tuple[LoreNote, ...] = ()


def normalise_trigger(raw: str) -> str:
    """``raw`` with its whitespace collapsed to single spaces and trimmed."""
    return " ".join(raw.split())


def trigger_key(trigger: str) -> str:
    """What makes two triggers the same (case and spacing ignored)."""
    return normalise_trigger(trigger).casefold()


@lru_cache(maxsize=1024)
def _pattern(triggers: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex matching any of ``triggers`` as a whole word or phrase, or ``None``."""
    alternatives = []
    for trigger in triggers:
        words = trigger.split()
        if words:
            alternatives.append(r"\s+".join(re.escape(word) for word in words))
    if not alternatives:
        return None
    # Longest first so "red dragon" wins over "red" at the same place.
    alternatives.sort(key=len, reverse=True)
    # Lookarounds instead of \b: a trigger may start or end with punctuation ("Dr.").
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def last_mention(triggers: Sequence[str], texts: Sequence[str]) -> tuple[int, int] | None:
    """(index of the text, end offset) of the latest mention of any trigger, or ``None``.

    ``texts`` are in story order (oldest first): a mention in a later text is
    more recent, and within one text a later offset is.
    """
    pattern = _pattern(tuple(triggers))
    if pattern is None:
        return None
    for index in range(len(texts) - 1, -1, -1):
        end = -1
        for match in pattern.finditer(texts[index]):
            end = match.end()
        if end >= 0:
            return index, end
    return None


def note_chars(entry: LoreCandidate) -> int:
    """How many characters an entry costs in the prompt."""
    return len(entry.name) + len(entry.text)


def triggered_lore(
    entries: Sequence[LoreCandidate],
    premise: str,
    recent_segments: Sequence[str],
    *,
    max_entries: int = MAX_TRIGGERED_LORE,
    max_chars: int = MAX_LORE_PROMPT_CHARS,
) -> list[LoreCandidate]:
    """The entries in play, most recently mentioned first, within the caps.

    Ties (two entries mentioned at the same place) keep the order of
    ``entries``. An entry that would overrun ``max_chars`` is skipped and the
    next one tried, so one long entry cannot keep short ones out.
    """
    texts = [premise, *recent_segments]
    mentioned: list[tuple[tuple[int, int], int, LoreCandidate]] = []
    for order, entry in enumerate(entries):
        mention = last_mention(entry.triggers, texts)
        if mention is not None:
            mentioned.append((mention, order, entry))
    mentioned.sort(key=lambda item: (-item[0][0], -item[0][1], item[1]))
    chosen: list[LoreCandidate] = []
    used = 0
    for _, _, entry in mentioned:
        if len(chosen) >= max_entries:
            break
        cost = note_chars(entry)
        if used + cost > max_chars:
            continue
        chosen.append(entry)
        used += cost
    return chosen


def prompt_facts(pinned: Sequence[str], extra: Sequence[str] = ()) -> tuple[str, ...]:
    """Pinned facts in their order, then ``extra`` ones not already there; blanks dropped."""
    facts: list[str] = []
    seen: set[str] = set()
    for fact in (*pinned, *extra):
        cleaned = fact.strip()
        key = trigger_key(cleaned)
        if cleaned and key not in seen:
            seen.add(key)
            facts.append(cleaned)
    return tuple(facts)


def story_memory(
    pinned: Sequence[str],
    lore: Sequence[LoreCandidate],
    premise: str,
    recent_segments: Sequence[str],
    extra_facts: Sequence[str] = (),
) -> PromptMemory:
    """The facts and the triggered lore for the narrator's next segment."""
    chosen = triggered_lore(lore, premise, recent_segments)
    return PromptMemory(
        facts=prompt_facts(pinned, extra_facts),
        lore=tuple(LoreNote(name=entry.name, text=entry.text) for entry in chosen),
    )
