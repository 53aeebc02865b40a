"""The one Piccolo app: every domain's tables and the shared migrations folder."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from storyhub.accounts.tables import (
    AgeVerificationRequest,
    ConsentRecord,
    MailOutbox,
    ParentalLink,
    RefreshToken,
    User,
)
from storyhub.audit.tables import AuditEvent
from storyhub.books.tables import DigitalBook
from storyhub.jobs.tables import Job
from storyhub.media.tables import MediaAsset
from storyhub.safety.tables import ModerationItem
from storyhub.stories.memory_tables import LoreEntry, PinnedFact
from storyhub.stories.tables import ChatMessage, Collaborator, Segment, Story

TABLES = [
    User,
    RefreshToken,
    ParentalLink,
    ConsentRecord,
    AgeVerificationRequest,
    MailOutbox,
    AuditEvent,
    Story,
    Collaborator,
    Segment,
    ChatMessage,
    PinnedFact,
    LoreEntry,
    ModerationItem,
    MediaAsset,
    DigitalBook,
    Job,
]

APP_CONFIG = AppConfig(
    app_name="storyhub",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
