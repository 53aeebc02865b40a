"""The audit log refuses data that looks like a secret, before touching the database."""

from __future__ import annotations

import pytest

from storyhub.audit.service import record


@pytest.mark.parametrize(
    "key", ["password", "newPassword", "refreshToken", "accessToken", "secret"]
)
async def test_secret_looking_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="must not carry secrets"):
        await record("auth.login.failed", data={key: "hunter2"})
