"""Password rules and argon2id hashing, kept off the event loop.

The production profile is above OWASP's minimum for argon2id
(m=19456 KiB, t=2, p=1): 32 MiB, three passes, one lane, about 0.1 s per hash
on the reference machine. The ``test`` profile exists only so the test suite
does not spend minutes hashing; settings refuse nothing else.
"""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storyhub.lib.errors import InvalidInput

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
"""Long passphrases are welcome (NIST asks for at least 64); the cap bounds hashing work."""

Profile = Literal["production", "test"]


@dataclass(frozen=True)
class Argon2Parameters:
    """argon2id cost parameters; ``memory_cost`` is in KiB."""

    time_cost: int
    memory_cost: int
    parallelism: int


PROFILES: dict[str, Argon2Parameters] = {
    "production": Argon2Parameters(time_cost=3, memory_cost=32 * 1024, parallelism=1),
    # Cheapest parameters argon2 accepts: only for tests.
    "test": Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1),
}

OWASP_MINIMUM = Argon2Parameters(time_cost=2, memory_cost=19456, parallelism=1)


def normalise_password(password: str) -> str:
    """NFKC-normalise so the same passphrase typed on two keyboards verifies."""
    return unicodedata.normalize("NFKC", password)


def check_password_rules(password: str) -> None:
    """Raise :class:`InvalidInput` unless ``password`` has an acceptable length."""
    length = len(normalise_password(password))
    if length < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            code="passwordTooShort",
        )
    if length > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.",
            code="passwordTooLong",
        )


class Passwords:
    """Hash, verify and upgrade argon2id password hashes for one profile."""

    def __init__(self, profile: Profile = "production") -> None:
        params = PROFILES[profile]
        self.parameters = params
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            type=Type.ID,
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (computed in a worker thread)."""
        return await asyncio.to_thread(self._hasher.hash, normalise_password(password))

    async def verify(self, stored_hash: str, password: str) -> bool:
        """True when ``password`` matches ``stored_hash``; never raises on a mismatch."""
        return await asyncio.to_thread(self._verify_sync, stored_hash, password)

    def _verify_sync(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, normalise_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when ``stored_hash`` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def burn_verify(self, password: str) -> None:
        """Spend what a real verification costs, for an account that does not exist.

        Login answers for unknown emails must take as long as for known ones,
        or response timing tells which emails have accounts.
        """
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)


_BY_PROFILE: dict[str, Passwords] = {}


def passwords_for(profile: Profile) -> Passwords:
    """One shared :class:`Passwords` per profile (it caches its dummy hash)."""
    found = _BY_PROFILE.get(profile)
    if found is None:
        found = _BY_PROFILE[profile] = Passwords(profile)
    return found
