"""Request and response bodies of story memory and lore (camelCase on the wire), and their limits.

The limits are constants, not settings: they keep every prompt and every
story's memory small enough to read at a glance (see docs/ai.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final
from uuid import UUID

from msgspec import UNSET, Meta, UnsetType

from storyhub.stories.schemas import Input, Output

MAX_FACTS_PER_STORY: Final = 20
FACT_MAX_CHARS: Final = 300
MAX_LORE_PER_STORY: Final = 100
LORE_NAME_MAX_CHARS: Final = 80
LORE_TEXT_MAX_CHARS: Final = 1000
MAX_TRIGGERS_PER_ENTRY: Final = 10
TRIGGER_MAX_CHARS: Final = 40

FactText = Annotated[str, Meta(min_length=1, max_length=FACT_MAX_CHARS)]
LoreName = Annotated[str, Meta(min_length=1, max_length=LORE_NAME_MAX_CHARS)]
LoreText = Annotated[str, Meta(min_length=1, max_length=LORE_TEXT_MAX_CHARS)]
Trigger = Annotated[str, Meta(min_length=1, max_length=TRIGGER_MAX_CHARS)]
Triggers = Annotated[list[Trigger], Meta(min_length=1, max_length=MAX_TRIGGERS_PER_ENTRY)]


# --- pinned facts --------------------------------------------------------------


class FactIn(Input, kw_only=True, frozen=True):
    text: FactText


class FactOut(Output, kw_only=True):
    id: UUID
    text: str
    """As stored: personal data the safety filter found is already redacted."""
    position: int
    """Order in the prompt, ascending; a new fact goes last."""
    created_by: UUID | None
    """``null`` once the writer's account is gone."""
    created_at: datetime


class FactList(Output, kw_only=True):
    items: list[FactOut]
    limit: int
    """How many facts a story may pin."""


# --- lore ----------------------------------------------------------------------


class LoreIn(Input, kw_only=True, frozen=True):
    name: LoreName
    triggers: Triggers
    """Words or phrases; the entry goes into the prompt while one of them is in play."""
    text: LoreText


class LorePatch(Input, kw_only=True, frozen=True):
    """Only the fields present change; ``null`` is not a value for any of them."""

    name: LoreName | UnsetType = UNSET
    triggers: Triggers | UnsetType = UNSET
    text: LoreText | UnsetType = UNSET


class LoreOut(Output, kw_only=True):
    id: UUID
    name: str
    triggers: list[str]
    text: str
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class LoreList(Output, kw_only=True):
    items: list[LoreOut]
    limit: int
    """How many lore entries a story may hold."""
