"""Personal data in a message: where it is, so it can be redacted before storage.

Finds emails (also "name at gmail dot com"), phone numbers (the ``phonenumbers``
library, ``Leniency.POSSIBLE``, at least seven digits; US, UK and ``+``
international formats), numbers spelled out in words ("five five five one two
three four"), street addresses (house number + name + street word in English;
German/Dutch compound streets; French/Spanish/Italian street words), URLs and bare
domains, social handles ("@name", "my insta is ..."), school names after "I go
to" / "my school is", full names after "my real name is", and postal codes in
context. Every detector works on the original text and returns character spans
in it, so redaction never changes anything else.

Pure functions over strings, no I/O. The expensive detector (phone numbers) only
runs when the text holds at least seven digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

PiiKind = Literal[
    "email", "phone", "spelledDigits", "address", "url", "handle", "school", "name", "postalCode"
]

REDACTION = "[redacted]"

MIN_PHONE_DIGITS = 7
PHONE_REGIONS = ("US", "GB")
"""National formats recognised without a ``+`` prefix; ``+`` numbers parse from anywhere."""


@dataclass(frozen=True, slots=True, order=True)
class PiiSpan:
    """``text[start:end]`` is personal data of ``kind``."""

    start: int
    end: int
    kind: PiiKind


# --- emails -------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,24}\b", re.IGNORECASE)
_AT = r"\s*(?:@|\(at\)|\[at\]|\{at\}|<at>|\bat\b)\s*"
_DOT = r"\s*(?:\.|\(dot\)|\[dot\]|\{dot\}|<dot>|\bdot\b)\s*"
_PROVIDERS = (
    r"gmail|googlemail|yahoo|hotmail|outlook|live|icloud|me|aol|msn|protonmail|proton|gmx|"
    r"web|mail|email|btinternet|sky|virginmedia|comcast|verizon|school|[a-z][\w-]*"
)
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.+-])[a-z0-9][\w.+-]*{_AT}(?:{_PROVIDERS})(?:{_DOT}[a-z]{{2,10}})*{_DOT}"
    r"(?:com|net|org|edu|gov|co|uk|us|de|fr|io|me|info|ca|au|nz|ie|nl|es|it)\b",
    re.IGNORECASE,
)

# --- URLs ---------------------------------------------------------------------------

_TLDS = (
    "com|net|org|edu|gov|io|co|uk|de|fr|es|nl|ca|au|nz|ie|info|biz|tv|gg|ly|app|dev|xyz|"
    "online|site|ru|jp|cn|br|ch|se|dk|fi|pl|eu|club|fun|games|art|blog|shop|store|link|"
    "page|website|space|tech|live|stream|social|chat|ai|id|ws|cc|fm|mx|za|be|at|me|us|in|it|"
    "to|is|no|so|my"
)
_AMBIGUOUS_TLDS = frozenset(
    {"be", "at", "me", "us", "in", "it", "to", "is", "no", "so", "my", "id"}
)
"""Top-level domains that are also English words: "the end.It was" is not a link."""
_URL_WITH_SCHEME = re.compile(r"\b(?:https?|ftp)://[^\s<>\"']+|\bwww\.[^\s<>\"']+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    rf"(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]{{0,62}}[a-z0-9])?\.)+(?P<tld>{_TLDS})\b"
    r"(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_SPELLED_DOMAIN = re.compile(
    r"(?<![\w-])[a-z0-9][\w-]{2,}\s+dot\s+(?:com|net|org|co\s+dot\s+uk|io|tv|gg)\b", re.IGNORECASE
)

# --- social handles -----------------------------------------------------------------

_AT_HANDLE = re.compile(r"(?<![\w@.])@(?=[\w.]*[a-z])[a-z0-9_](?:[\w.]{1,29}[\w])?", re.IGNORECASE)
_PLATFORMS = (
    r"insta(?:gram)?|ig|snap(?:chat)?|sc|tik\s?tok|discord|roblox|fortnite|minecraft|xbox|"
    r"xbox\s+live|psn|playstation|steam|twitch|youtube|yt|kik|telegram|whats\s?app|twitter|"
    r"facebook|fb|threads|bluesky|reddit|pinterest|epic|gamertag|gamer\s+tag|(?:the\s+)?gram"
)
_HANDLE_TOKEN = r"@?[\w][\w.#-]{1,31}"
_PLATFORM_HANDLE = re.compile(
    rf"(?:\b(?:my|add\s+my|follow\s+my|find\s+my|add\s+me\s+on|follow\s+me\s+on|"
    rf"find\s+me\s+on)\s+(?:{_PLATFORMS})(?:\s+(?:user\s?name|name|handle|id|tag|account|"
    rf"channel|profile|page|code))?(?:\s+(?:is|=|-|:)|\s*:)(?:\s+called)?"
    rf"|\b(?:{_PLATFORMS})\s*(?::|-|=))\s*"
    rf"(?P<handle>{_HANDLE_TOKEN}(?:\s+(?-i:[A-Z])[\w]{{1,20}}\b)?)",
    re.IGNORECASE,
)
_NOT_HANDLES = frozenset(
    {
        "is",
        "the",
        "a",
        "an",
        "and",
        "account",
        "name",
        "called",
        "me",
        "my",
        "on",
        "at",
        "it",
        "so",
        "very",
        "really",
        "not",
        "too",
        "was",
        "got",
        "has",
        "broken",
        "down",
        "banned",
        "private",
        "new",
        "old",
        "cool",
        "fun",
        "great",
        "good",
        "bad",
        "ok",
        "okay",
    }
)

# --- schools ------------------------------------------------------------------------

_SCHOOL_WORDS = (
    r"school|elementary|primary|academy|high|middle|college|prep|preparatory|grammar|secondary|"
    r"junior|juniors|infants|kindergarten|montessori|lyc[ée]e|gymnasium|grundschule"
)
_NOT_SCHOOL_NAME = (
    r"after|before|with|on|in|at|for|from|every|each|to|and|then|when|because|but|or|bed|"
    r"sleep|work|church|the\s+park"
)
_SCHOOL = re.compile(
    r"\b(?:i\s+go\s+to|i\s+attend|i\s+study\s+at|we\s+go\s+to|we\s+attend|my\s+school\s+is(?:\s+called)?|"
    r"my\s+school'?s\s+called|my\s+school'?s|i'?m\s+at|im\s+at|i\s+am\s+at|"
    r"(?:i'?m|im|i\s+am)\s+in\s+(?:year|grade|class)\s+\w+\s+at|(?:year|grade)\s+\d+\s+at|"
    r"(?:i'?m|im|i\s+am)\s+in\s+[\w'.]+(?:\s+[\w'.]+)?\s+class\s+at)\s+"
    rf"(?P<school>(?:(?!(?:{_SCHOOL_WORDS}|{_NOT_SCHOOL_NAME})\b)[\w'.&-]+\s+){{1,4}}"
    rf"(?:{_SCHOOL_WORDS})\b"
    r"(?:\s+(?:school|academy|college))?(?:\s+of\s+[A-Z][\w]+(?:\s+[A-Z][\w]+)?)?)",
    re.IGNORECASE,
)
_GENERIC_SCHOOL_NAMES = frozenset(
    {
        "the",
        "a",
        "my",
        "our",
        "big",
        "new",
        "old",
        "local",
        "high",
        "middle",
        "primary",
        "elementary",
        "secondary",
        "junior",
        "art",
        "dance",
        "music",
        "summer",
        "sunday",
        "boarding",
        "night",
        "private",
        "public",
        "state",
        "normal",
        "driving",
        "swim",
        "swimming",
        "drama",
        "football",
        "ballet",
        "language",
        "magic",
        "wizard",
        "wizarding",
    }
)

# --- names --------------------------------------------------------------------------

_FULL_NAME = re.compile(
    r"\bmy\s+(?:full|real|whole|last)\s+name\s+is\s+"
    r"(?P<name>[A-Za-z][\w'-]+(?:\s+(?-i:[A-Z])[\w'-]+){0,2})"
    r"|\bmy\s+surname\s+is\s+(?P<surname>[A-Za-z][\w'-]+)",
    re.IGNORECASE,
)

# --- addresses ----------------------------------------------------------------------

_STREET_SUFFIX_STRONG = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|boulevard|blvd|crescent|cres|terrace|terr|"
    r"parkway|pkwy|highway|hwy|mews|drive|dr"
)
_STREET_SUFFIX_WEAK = (
    r"close|way|place|pl|court|ct|square|sq|grove|gardens|row|walk|circle|cir|hill|green"
)
_ADDRESS_CUE = (
    r"live\s+(?:at|on|in)|living\s+(?:at|on)|address\s+is|address:|house\s+is(?:\s+at)?|"
    r"moved\s+to|come\s+to|come\s+over\s+to|flat\s+\w+,?|apartment\s+\w+,?|apt\.?\s+\w+,?"
)
_NUMBER = r"\d{1,5}[a-z]?(?:\s*[-/]\s*\d{1,4}[a-z]?)?"
_NAME_WORD = (
    r"(?!(?:the|a|an|of|to|down|up|and|or|miles?|km|feet|steps|times|more|hours?|minutes?)\b)"
    r"[a-z][\w'.-]*"
)
_ADDRESS_EN_STRONG = re.compile(
    rf"\b{_NUMBER}\s+(?:{_NAME_WORD}\s+){{1,3}}?(?:{_STREET_SUFFIX_STRONG})\b\.?", re.IGNORECASE
)
_ADDRESS_EN_WEAK = re.compile(
    rf"\b(?:{_ADDRESS_CUE})\s+(?P<cued>{_NUMBER}\s+(?:{_NAME_WORD}\s+){{1,3}}?"
    rf"(?:{_STREET_SUFFIX_WEAK}))\b"
    rf"|(?-i:\b(?P<named>{_NUMBER}\s+(?:[A-Z][\w'.-]*\s+){{1,3}}?(?:Close|Way|Place|Court|Square|"
    r"Grove|Gardens|Row|Walk|Circle|Hill|Green))\b)",
    re.IGNORECASE,
)
_COMPOUND_STREET = (
    r"[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|damm|ufer|"
    r"straat|laan|plein|gracht|steeg|kade|singel|vej|gade|gatan|vägen|veien|gata)"
)
_ADDRESS_COMPOUND = re.compile(
    rf"(?<![\w-]){_COMPOUND_STREET}\s+\d{{1,4}}[a-z]?\b|\b\d{{1,4}}[a-z]?\s+{_COMPOUND_STREET}(?!\w)"
)
_ADDRESS_ROMANCE = re.compile(
    r"\b\d{1,4}(?:\s*(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|all[ée]e|impasse|"
    r"quai|route)\s+(?:(?:de|du|des|la|le|l'|d')\s*)*[\w'-]+(?:\s+[A-Z][\w'-]+){0,2}"
    r"|\b(?:calle|c/|avenida|avda\.?|plaza|paseo|carrer|(?-i:Via)|viale|piazza|corso|rua|travessa)\s+"
    r"(?:(?:de|del|la|las|los|di|della|do|da)\s+)*[a-z][\w'-]*(?:\s+(?-i:[A-Z])[\w'-]*){0,2},?\s+"
    r"\d{1,4}\b",
    re.IGNORECASE,
)
_ADDRESS_NAMED = re.compile(
    rf"\b(?:{_ADDRESS_CUE}|live\b[^.!?\n]{{0,40}}?\b(?:on|at|in))\s+(?P<street>(?:{_NAME_WORD}\s+){{1,3}}?(?:{_STREET_SUFFIX_STRONG}))\b",
    re.IGNORECASE,
)
_PO_BOX = re.compile(r"\bp\.?\s?o\.?\s+box\s+\d{1,6}\b", re.IGNORECASE)

# --- postal codes -------------------------------------------------------------------

_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
_POSTAL_IN_CONTEXT = re.compile(
    r"\b(?:zip(?:\s*code)?|post\s*code|postal\s*code|postleitzahl|code\s+postal)\s*(?:is|:|=|-)?\s*"
    rf"(?P<code>\d{{4,5}}(?:-\d{{4}})?|{_UK_POSTCODE}|[A-Z]\d[A-Z]\s?\d[A-Z]\d)\b",
    re.IGNORECASE,
)
_UK_POSTCODE_BARE = re.compile(rf"\b{_UK_POSTCODE}\b")
_US_STATE_ZIP = re.compile(
    r"\b(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|"
    r"S[CD]|T[NX]|UT|V[AT]|W[AIVY])\s+(?P<code>\d{5}(?:-\d{4})?)\b"
)

# --- spelled-out digits -------------------------------------------------------------

_DIGIT_WORDS = {
    "zero": 1,
    "oh": 1,
    "o": 1,
    "nought": 1,
    "one": 1,
    "two": 1,
    "three": 1,
    "four": 1,
    "five": 1,
    "six": 1,
    "seven": 1,
    "eight": 1,
    "nine": 1,
    "ten": 2,
    "eleven": 2,
    "twelve": 2,
    "thirteen": 2,
    "fourteen": 2,
    "fifteen": 2,
    "sixteen": 2,
    "seventeen": 2,
    "eighteen": 2,
    "nineteen": 2,
    "twenty": 2,
    "thirty": 2,
    "forty": 2,
    "fifty": 2,
    "sixty": 2,
    "seventy": 2,
    "eighty": 2,
    "ninety": 2,
    "hundred": 2,
}
_DIGIT_TOKEN = re.compile(
    r"\b(?:" + "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True)) + r"|double|triple|\d+)\b",
    re.IGNORECASE,
)
_DIGIT_GAP = re.compile(r"^[\s,.\-/]*$")

_DATE_LIKE = re.compile(
    r"^\s*(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})\s*$"
)


def find_emails(text: str) -> list[PiiSpan]:
    """Addresses written plainly or as "name at provider dot com"."""
    spans = [PiiSpan(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    spans += [PiiSpan(m.start(), m.end(), "email") for m in _OBFUSCATED_EMAIL.finditer(text)]
    return spans


def find_phones(text: str) -> list[PiiSpan]:
    """Phone numbers with at least seven digits, national (US, UK) or international."""
    if sum(ch.isdigit() for ch in text) < MIN_PHONE_DIGITS:
        return []
    spans: set[PiiSpan] = set()
    for region in PHONE_REGIONS:
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
            raw = match.raw_string
            if sum(ch.isdigit() for ch in raw) < MIN_PHONE_DIGITS or _DATE_LIKE.match(raw):
                continue
            spans.add(PiiSpan(match.start, match.end, "phone"))
    return sorted(spans)


_PHONE_CUE = re.compile(
    r"(?:\b(?:phone|mobile|cell|digits|whatsapp|tel)\b|\b(?:my|our|his|her|their|your|ur|"
    r"mum'?s|mom'?s|dad'?s)\s+(?:\w+\s+)?number\b)(?P<rest>[^.!?\n]{1,60})",
    re.IGNORECASE,
)
_DIGIT_GROUP = re.compile(r"\+?\d[\d\s-]*\d|\d")
MIN_FRAGMENT_DIGITS = 6


def find_phone_fragments(text: str) -> list[PiiSpan]:
    """A number given in pieces after a cue: "my number starts with 07 and ends 900 123".

    Every digit group in the rest of the sentence is redacted when together they hold
    at least six digits: enough of a phone number to matter.
    """
    spans: list[PiiSpan] = []
    for cue in _PHONE_CUE.finditer(text):
        base = cue.start("rest")
        groups = list(_DIGIT_GROUP.finditer(cue.group("rest")))
        if sum(ch.isdigit() for g in groups for ch in g.group(0)) >= MIN_FRAGMENT_DIGITS:
            spans += [PiiSpan(base + g.start(), base + g.end(), "phone") for g in groups]
    return spans


def find_spelled_digits(text: str) -> list[PiiSpan]:
    """Runs of number words (and digits) worth seven or more digits: a number read aloud."""
    spans: list[PiiSpan] = []
    run_start = run_end = -1
    digits = 0
    for match in _DIGIT_TOKEN.finditer(text):
        word = match.group(0).lower()
        worth = len(word) if word.isdigit() else _DIGIT_WORDS.get(word, 0)
        if run_start >= 0 and _DIGIT_GAP.match(text[run_end : match.start()]):
            run_end = match.end()
            digits += worth
            continue
        if digits >= MIN_PHONE_DIGITS and _has_words(text[run_start:run_end]):
            spans.append(PiiSpan(run_start, run_end, "spelledDigits"))
        run_start, run_end, digits = match.start(), match.end(), worth
    if digits >= MIN_PHONE_DIGITS and _has_words(text[run_start:run_end]):
        spans.append(PiiSpan(run_start, run_end, "spelledDigits"))
    return spans


def _has_words(chunk: str) -> bool:
    # Plain digit runs are the phone detector's job; this one is for words.
    return any(ch.isalpha() for ch in chunk)


def find_addresses(text: str) -> list[PiiSpan]:
    """Street addresses: "42 Oak Lane", "Hauptstraße 5", "8 rue de la Paix", "PO Box 12"."""
    spans = [PiiSpan(m.start(), m.end(), "address") for m in _ADDRESS_EN_STRONG.finditer(text)]
    for m in _ADDRESS_EN_WEAK.finditer(text):
        group = "cued" if m.group("cued") else "named"
        spans.append(PiiSpan(m.start(group), m.end(group), "address"))
    for pattern in (_ADDRESS_COMPOUND, _ADDRESS_ROMANCE, _PO_BOX):
        spans += [PiiSpan(m.start(), m.end(), "address") for m in pattern.finditer(text)]
    spans += [
        PiiSpan(m.start("street"), m.end("street"), "address")
        for m in _ADDRESS_NAMED.finditer(text)
    ]
    return spans


def find_urls(text: str) -> list[PiiSpan]:
    """Links with a scheme or ``www.``, bare domains (``mysite.net/page``), "mysite dot com"."""
    spans = []
    for match in _URL_WITH_SCHEME.finditer(text):
        end = match.start() + len(match.group(0).rstrip(".,!?;:)]}"))
        spans.append(PiiSpan(match.start(), end, "url"))
    for match in _BARE_DOMAIN.finditer(text):
        tld = match.group("tld")
        found = match.group(0)
        # "the end.It was": a word TLD counts only with a path or a subdomain.
        if tld.lower() in _AMBIGUOUS_TLDS and "/" not in found and found.count(".") < 2:
            continue
        end = match.start() + len(match.group(0).rstrip(".,!?;:)]}"))
        spans.append(PiiSpan(match.start(), end, "url"))
    spans += [PiiSpan(m.start(), m.end(), "url") for m in _SPELLED_DOMAIN.finditer(text)]
    return spans


def find_handles(text: str) -> list[PiiSpan]:
    """``@name`` and "my insta is name" / "discord: Name#1234"."""
    spans = [PiiSpan(m.start(), m.end(), "handle") for m in _AT_HANDLE.finditer(text)]
    for match in _PLATFORM_HANDLE.finditer(text):
        handle = match.group("handle").rstrip(".,!?;:")
        if handle.lower().split()[0] in _NOT_HANDLES:
            continue
        spans.append(PiiSpan(match.start("handle"), match.start("handle") + len(handle), "handle"))
    return spans


def find_schools(text: str) -> list[PiiSpan]:
    """A named school after "I go to", "my school is", "I'm in year 5 at"."""
    spans = []
    for match in _SCHOOL.finditer(text):
        name_words = match.group("school").lower().split()[:-1]
        if not name_words or all(w in _GENERIC_SCHOOL_NAMES for w in name_words):
            continue
        spans.append(PiiSpan(match.start("school"), match.end("school"), "school"))
    return spans


def find_names(text: str) -> list[PiiSpan]:
    """A real name given as such: "my real name is Ann Lee", "my surname is Lee"."""
    spans = []
    for match in _FULL_NAME.finditer(text):
        group = "name" if match.group("name") else "surname"
        spans.append(PiiSpan(match.start(group), match.end(group), "name"))
    return spans


def find_postal_codes(text: str) -> list[PiiSpan]:
    """Postal codes next to a cue ("zip code is", "postcode", "CA 90210") or UK-shaped ones."""
    spans = [
        PiiSpan(m.start("code"), m.end("code"), "postalCode")
        for m in _POSTAL_IN_CONTEXT.finditer(text)
    ]
    spans += [
        PiiSpan(m.start("code"), m.end("code"), "postalCode") for m in _US_STATE_ZIP.finditer(text)
    ]
    spans += [PiiSpan(m.start(), m.end(), "postalCode") for m in _UK_POSTCODE_BARE.finditer(text)]
    return spans


DETECTORS = (
    find_emails,
    find_phones,
    find_phone_fragments,
    find_spelled_digits,
    find_addresses,
    find_urls,
    find_handles,
    find_schools,
    find_names,
    find_postal_codes,
)


def find_pii(text: str) -> list[PiiSpan]:
    """Every personal-data span in ``text``, overlapping spans merged, in order."""
    spans: list[PiiSpan] = []
    for detector in DETECTORS:
        spans.extend(detector(text))
    return merge(spans)


def merge(spans: list[PiiSpan]) -> list[PiiSpan]:
    """Sorted spans with overlaps joined (the first kind wins)."""
    merged: list[PiiSpan] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = PiiSpan(last.start, span.end, last.kind)
            continue
        merged.append(span)
    return merged


def redact(text: str, spans: list[PiiSpan]) -> str:
    """``text`` with each span replaced by :data:`REDACTION`."""
    out: list[str] = []
    cursor = 0
    for span in spans:
        out.append(text[cursor : span.start])
        out.append(REDACTION)
        cursor = span.end
    out.append(text[cursor:])
    return "".join(out)


def warm_up() -> None:
    """Load phonenumbers' metadata for the configured regions before the first message."""
    for region in PHONE_REGIONS:
        list(PhoneNumberMatcher("+1 212 555 0147 020 7946 0018", region))
    phonenumbers.parse("+33 1 42 68 53 00")
