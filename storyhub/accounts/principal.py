"""Who is calling: the authenticated user as every handler sees it."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

Role = Literal["user", "moderator", "admin"]
AgeTier = Literal["child", "teen", "olderTeen", "adult"]
AccountStatus = Literal["active", "pendingConsent", "deactivated"]


class Principal(msgspec.Struct, frozen=True):
    """The caller, loaded fresh from the database for each request or socket."""

    id: UUID
    email: str
    display_name: str
    role: Role
    age_tier: AgeTier
    status: AccountStatus
    auth_epoch: int

    @property
    def is_minor(self) -> bool:
        return self.age_tier != "adult"
