"""Age, age tier and the age of digital consent: pure rules, no I/O.

Everything here is a function of plain values (a birth date, today's date, a
country code), so the rules can be tested exhaustively and cannot drift with
the database or the clock.
"""

from __future__ import annotations

from datetime import date

from storyhub.accounts.principal import AgeTier

MAX_AGE_YEARS = 120
"""Older birth dates are treated as typing mistakes and refused."""

DEFAULT_DIGITAL_CONSENT_AGE = 16
"""Used when the country is unknown or not in the table.

GDPR Art. 8 lets member states choose between 13 and 16, with 16 as the
default; taking the highest value when we do not know where someone lives
means we never skip a consent that the law would have required.
"""

DIGITAL_CONSENT_AGE: dict[str, int] = {
    # GDPR Art. 8 as implemented by each EU member state. Product policy input:
    # review with counsel when a country changes its law.
    "AT": 14,
    "BE": 13,
    "BG": 14,
    "CY": 14,
    "CZ": 15,
    "DE": 16,
    "DK": 13,
    "EE": 13,
    "ES": 14,
    "FI": 13,
    "FR": 15,
    "GR": 15,
    "HR": 16,
    "HU": 16,
    "IE": 16,
    "IT": 14,
    "LT": 14,
    "LU": 16,
    "LV": 13,
    "MT": 13,
    "NL": 16,
    "PL": 16,
    "PT": 13,
    "RO": 16,
    "SE": 13,
    "SI": 15,
    "SK": 16,
    # EEA members outside the EU.
    "IS": 13,
    "LI": 16,
    "NO": 13,
    # UK GDPR / Data Protection Act 2018.
    "GB": 13,
    # COPPA: verifiable parental consent below 13.
    "US": 13,
}


class InvalidBirthDate(ValueError):
    """A birth date in the future or implausibly long ago."""


def age_on(birth_date: date, today: date) -> int:
    """Whole years between ``birth_date`` and ``today``.

    Someone born on 29 February becomes a year older on 1 March in common
    years: the later of the two candidate days, so a minor is never treated
    as older than they are.
    """
    if birth_date > today:
        raise InvalidBirthDate("The birth date is in the future.")
    had_birthday = (today.month, today.day) >= (birth_date.month, birth_date.day)
    return today.year - birth_date.year - (0 if had_birthday else 1)


def check_birth_date(birth_date: date, today: date) -> int:
    """The age for a plausible birth date; :class:`InvalidBirthDate` otherwise."""
    age = age_on(birth_date, today)
    if age > MAX_AGE_YEARS:
        raise InvalidBirthDate(f"The birth date is more than {MAX_AGE_YEARS} years ago.")
    return age


def tier_for_age(age: int) -> AgeTier:
    """``child`` below 13, ``teen`` 13-15, ``olderTeen`` 16-17, ``adult`` from 18."""
    if age < 0:
        raise ValueError("age cannot be negative")
    if age < 13:
        return "child"
    if age < 16:
        return "teen"
    if age < 18:
        return "olderTeen"
    return "adult"


def normalise_country(country: str | None) -> str | None:
    """An upper-case ISO 3166-1 alpha-2 code, or ``None``; ``ValueError`` if malformed."""
    if country is None:
        return None
    code = country.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise ValueError("country must be a two-letter ISO 3166-1 code, e.g. DE")
    return code


def digital_consent_age(country: str | None) -> int:
    """The age below which a parent must consent, for ``country`` (alpha-2)."""
    if country is None:
        return DEFAULT_DIGITAL_CONSENT_AGE
    return DIGITAL_CONSENT_AGE.get(country.upper(), DEFAULT_DIGITAL_CONSENT_AGE)


def needs_parental_consent(age: int, country: str | None) -> bool:
    """True when someone of ``age`` in ``country`` may only join with a parent's consent."""
    return age < digital_consent_age(country)
