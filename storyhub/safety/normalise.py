"""Text normalisation: undo the tricks people use to slip words past a filter.

Two views of a message come out of :func:`normalise`:

* ``folded`` keeps the sentence as written but in one canonical alphabet:
  Unicode NFKC (full-width and stylised letters become plain ones), case
  folding, accents and zero-width characters removed, look-alike letters from
  other scripts mapped to Latin.
* ``words`` are the tokens of the folded text after undoing obfuscation:
  leetspeak (``sh1t``, ``a$$``), letters spelled out with spaces or dots
  (``f u c k``, ``f.u.c.k``), long runs of one letter (``fuuuuck``),
  apostrophes dropped (``don't`` -> ``dont``). ``canonical`` is those words
  joined by single spaces: the rules and the classifier read it.

Everything here is pure and allocation-light: it runs on every message.
"""

# The look-alike table is made of ambiguous characters on purpose.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

ZERO_WIDTH = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u206a\u206b\u206c"
        "\u206d\u206e\u206f\u3164\ufeff\uffa0",
    ),
    None,
)
"""Invisible characters that split a word for a filter but not for a reader."""

HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic letters that render like Latin ones.
        "а": "a",
        "в": "b",
        "с": "c",
        "е": "e",
        "ё": "e",
        "һ": "h",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ь": "b",
        "г": "r",
        "п": "n",
        "и": "u",
        "л": "n",
        # Greek.
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "γ": "y",
        "ς": "s",
        "σ": "o",
        "μ": "u",
        # Latin letters NFKC leaves alone.
        "ƒ": "f",
        "ɑ": "a",
        "ɡ": "g",
        "ı": "i",
        "ȷ": "j",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ŋ": "n",
        "ʀ": "r",
        "ʏ": "y",
        # Typographic apostrophes and dashes, so later rules see one form.
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
    }
)

LEET = {
    "0": "o",
    "1": "i",
    "3": "e",
    "4": "a",
    "5": "s",
    "7": "t",
    "8": "b",
    "9": "g",
    "@": "a",
    "$": "s",
    "!": "i",
    "|": "i",
    "+": "t",
    "€": "e",
    "£": "l",
    "¡": "i",
}
"""Characters that stand in for letters inside a word."""

_LEET_TABLE = str.maketrans(LEET)
_DIGITS = frozenset("0123456789")
_LEET_CHARS = frozenset(LEET)
_OUTER_PUNCT = "\"'()[]{}<>.,;:?!¿¡~^_-=/\\«»“”„…#*%&"
_SEPARATED_LETTERS = re.compile(r"^(?:[a-z0-9@$!|][.\-_*/·•,]){2,}[a-z0-9@$!|][.!]?$")
_SEPARATORS = re.compile(r"[.\-_*/·•,]")
_NON_WORD = re.compile(r"[^a-z0-9*]+")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th|s)$")
_RUN3 = re.compile(r"(.)\1{2,}")
_RUN2 = re.compile(r"(.)\1+")

MAX_CHARS = 8000
"""The longest text the filter reads (a chat line or turn is far shorter); the
pipeline blocks longer ones as ``tooLong`` and :func:`fold` cuts them as a backstop."""


@dataclass(frozen=True, slots=True)
class Normalised:
    """One message in the forms the rules read."""

    folded: str
    """Canonical alphabet, case-folded, punctuation and spacing kept."""
    words: tuple[str, ...]
    """De-obfuscated tokens (letters and digits only, except ``*`` masks)."""

    @property
    def canonical(self) -> str:
        """``words`` joined by single spaces."""
        return " ".join(self.words)


def fold(text: str) -> str:
    """NFKC, look-alikes to Latin, case fold, accents and invisible characters removed."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).translate(ZERO_WIDTH)
    text = text.translate(HOMOGLYPHS).casefold()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        # casefold can yield characters the homoglyph table knows (e.g. "ſ" -> "s" is
        # NFKC's job, but Greek final sigma appears only after folding).
        text = text.translate(HOMOGLYPHS)
    return text


def collapse_runs(word: str, keep: frozenset[str] = frozenset()) -> str:
    """Shorten runs of three or more identical characters.

    ``shiiiit`` becomes ``shit``; a run is kept at two letters when that spelling
    is in ``keep`` (``killl`` -> ``kill``, ``asss`` -> ``ass``).
    """
    if not _RUN3.search(word):
        return word
    doubled = _RUN3.sub(r"\1\1", word)
    if doubled in keep:
        return doubled
    return _RUN3.sub(r"\1", word)


def squash_repeats(word: str) -> str:
    """Every run of a repeated character cut to one: ``fuuck`` -> ``fuck``."""
    return _RUN2.sub(r"\1", word)


def _deleet(token: str) -> str:
    """Map leetspeak inside a word, but leave numbers and codes (``a55``, ``m25``) alone."""
    if not any(ch in _LEET_CHARS for ch in token):
        return token
    if _ORDINAL.match(token):
        return token
    letters = sum(ch.isalpha() for ch in token)
    digits = sum(ch in _DIGITS for ch in token)
    if letters < 2 or digits > letters:
        return token
    return token.translate(_LEET_TABLE)


def _clean_token(raw: str) -> list[str]:
    """One whitespace-separated chunk -> zero or more plain tokens."""
    if _SEPARATED_LETTERS.match(raw):
        # "f.u.c.k", "a-s-s-h-o-l-e": letters joined by one separator each.
        raw = _SEPARATORS.sub("", raw).rstrip(".")
        return [raw.translate(_LEET_TABLE)]
    # Outer punctuation goes; "@", "$" and inner "!" stay because they are leet
    # ("@sshole", "$hit", "sh!t").
    token = raw.strip(_OUTER_PUNCT)
    if not token:
        return []
    token = _deleet(token.replace("'", ""))
    # A part of masks alone ("*" between control characters) is no word.
    return [part for part in _NON_WORD.split(token) if part.strip("*")]


def _join_spaced_letters(tokens: Iterable[str]) -> list[str]:
    """Join runs of three or more one-letter tokens: ``f u c k`` -> ``fuck``."""
    out: list[str] = []
    run: list[str] = []
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        out.append(token)
    if len(run) >= 3:
        out.append("".join(run))
    else:
        out.extend(run)
    return out


def normalise(text: str, keep_doubles: frozenset[str] = frozenset()) -> Normalised:
    """Both views of ``text``; ``keep_doubles`` lists words whose double letters matter."""
    folded = fold(text)
    tokens: list[str] = []
    for raw in folded.split():
        tokens.extend(_clean_token(raw))
    tokens = _join_spaced_letters(tokens)
    words = tuple(collapse_runs(t, keep_doubles) for t in tokens)
    return Normalised(folded=folded, words=words)
