"""argon2id hashing: parameters, verification, upgrades and password rules."""

from __future__ import annotations

import re

import pytest

from storyhub.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    OWASP_MINIMUM,
    Passwords,
    check_password_rules,
)
from storyhub.lib.errors import InvalidInput

_ARGON2 = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+$")


class TestProductionProfile:
    """What lands in the database in production."""

    async def test_stored_hash_is_argon2id_at_or_above_owasp_minimum(self) -> None:
        stored = await Passwords("production").hash("correct horse battery")
        match = _ARGON2.fullmatch(stored)
        assert match is not None, stored
        memory, time_cost, lanes = (int(g) for g in match.groups())
        assert memory >= OWASP_MINIMUM.memory_cost
        assert time_cost >= OWASP_MINIMUM.time_cost
        assert lanes >= OWASP_MINIMUM.parallelism
        minimum = OWASP_MINIMUM
        assert (minimum.memory_cost, minimum.time_cost, minimum.parallelism) == (19456, 2, 1)

    async def test_hashes_are_salted(self) -> None:
        passwords = Passwords("test")
        assert await passwords.hash("same password") != await passwords.hash("same password")


class TestVerify:
    """Verification answers yes or no, never raises."""

    async def test_right_and_wrong_password(self) -> None:
        passwords = Passwords("test")
        stored = await passwords.hash("correct horse battery")
        assert await passwords.verify(stored, "correct horse battery")
        assert not await passwords.verify(stored, "correct horse batterz")

    async def test_garbage_hash_is_a_mismatch(self) -> None:
        assert not await Passwords("test").verify("not-a-hash", "whatever1")

    async def test_unicode_is_normalised_before_hashing(self) -> None:
        passwords = Passwords("test")
        composed = "caf\u00e9 au lait"
        decomposed = "cafe\u0301 au lait"
        assert await passwords.verify(await passwords.hash(composed), decomposed)

    async def test_burn_verify_takes_the_same_path_as_a_real_one(self) -> None:
        await Passwords("test").burn_verify("anything at all")


class TestRehash:
    """Hashes made with other parameters are upgraded at the next login."""

    async def test_weaker_hash_needs_rehash(self) -> None:
        weak = await Passwords("test").hash("correct horse battery")
        assert Passwords("production").needs_rehash(weak)

    async def test_current_hash_does_not(self) -> None:
        production = Passwords("production")
        assert not production.needs_rehash(await production.hash("correct horse battery"))

    def test_unreadable_hash_needs_rehash(self) -> None:
        assert Passwords("test").needs_rehash("$2b$12$bcrypt-looking-thing")


class TestRules:
    """At least 8 characters; long passphrases (up to 128) welcome."""

    def test_boundaries(self) -> None:
        check_password_rules("x" * MIN_PASSWORD_LENGTH)
        check_password_rules("x" * 64)
        check_password_rules("x" * MAX_PASSWORD_LENGTH)

    def test_too_short(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            check_password_rules("x" * (MIN_PASSWORD_LENGTH - 1))
        assert caught.value.code == "passwordTooShort"

    def test_too_long(self) -> None:
        with pytest.raises(InvalidInput) as caught:
            check_password_rules("x" * (MAX_PASSWORD_LENGTH + 1))
        assert caught.value.code == "passwordTooLong"

    def test_length_counts_characters_not_bytes(self) -> None:
        check_password_rules("ü" * MIN_PASSWORD_LENGTH)
