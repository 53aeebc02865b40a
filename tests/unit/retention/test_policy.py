"""The retention rules without a database: cutoffs, who inherits a story, what is purgeable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from storyhub.retention import policy
from storyhub.settings import RetentionSettings, SettingsError, load_settings

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CUT = policy.cutoffs(RetentionSettings(), NOW)


def test_defaults_are_the_documented_schedule() -> None:
    assert CUT.deletion_requested == NOW - timedelta(hours=24)
    assert CUT.unconsented_registered == NOW - timedelta(days=30)
    assert CUT.refresh_token == NOW - timedelta(days=30)
    assert CUT.sent_mail == NOW - timedelta(days=30)
    assert CUT.failed_mail == NOW - timedelta(days=60)
    assert CUT.moderation_decided == NOW - timedelta(days=30)
    assert CUT.verification_updated == NOW - timedelta(days=30)
    assert CUT.job_updated == NOW - timedelta(days=90)
    assert CUT.audit_ip == NOW - timedelta(days=90)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        policy.cutoffs(RetentionSettings(), NOW.replace(tzinfo=None))


def test_a_deletion_waits_for_its_grace_period_and_runs_until_done() -> None:
    assert not policy.deletion_due(NOW - timedelta(hours=23), "queued", CUT)
    assert policy.deletion_due(NOW - timedelta(hours=24), "queued", CUT)
    assert policy.deletion_due(NOW - timedelta(days=3), "running", CUT)
    assert not policy.deletion_due(NOW - timedelta(days=3), "done", CUT)
    no_grace = policy.cutoffs(RetentionSettings(deletion_grace_hours=0), NOW)
    assert policy.deletion_due(NOW, "queued", no_grace)


def test_pending_account_deletions_are_never_purged_as_old_jobs() -> None:
    old = NOW - timedelta(days=91)
    assert policy.job_purgeable("media", "done", old, CUT)
    assert policy.job_purgeable("media", "running", old, CUT)  # abandoned
    assert policy.job_purgeable("accountDeletion", "done", old, CUT)
    assert not policy.job_purgeable("accountDeletion", "queued", old, CUT)
    assert not policy.job_purgeable("media", "done", NOW - timedelta(days=89), CUT)


def test_live_used_tokens_stay_for_reuse_detection() -> None:
    long_ago, lately = NOW - timedelta(days=31), NOW - timedelta(days=29)
    assert policy.refresh_token_purgeable(long_ago, None, CUT)
    assert not policy.refresh_token_purgeable(lately, None, CUT)
    assert policy.refresh_token_purgeable(NOW + timedelta(days=5), long_ago, CUT)
    assert not policy.refresh_token_purgeable(NOW + timedelta(days=5), lately, CUT)


@pytest.mark.parametrize(
    ("sent", "attempts", "age_days", "due"),
    [
        (True, 1, 31, True),
        (True, 1, 29, False),
        (False, 8, 61, True),
        (False, 8, 59, False),
        (False, 3, 400, False),  # still being retried
    ],
)
def test_mail(sent: bool, attempts: int, age_days: int, due: bool) -> None:
    created = NOW - timedelta(days=age_days)
    assert (
        policy.mail_purgeable(
            sent=sent, attempts=attempts, max_attempts=8, created_at=created, cut=CUT
        )
        is due
    )


def _member(role: str, order: int, wrote: bool) -> policy.Member:
    return policy.Member(user_id=uuid.uuid4(), role=role, joined_order=order, wrote_segments=wrote)


def test_a_story_nobody_else_wrote_in_goes_with_its_owner() -> None:
    assert policy.successor([]) is None
    assert policy.successor([_member("editor", 1, False), _member("author", 2, False)]) is None


def test_the_heir_is_a_writer_editors_first_then_the_earliest() -> None:
    early_author = _member("author", 1, True)
    late_editor = _member("editor", 5, True)
    silent_editor = _member("editor", 0, False)
    assert policy.successor([early_author, late_editor, silent_editor]) == late_editor.user_id
    later_author = _member("author", 3, True)
    assert policy.successor([later_author, early_author]) == early_author.user_id
    viewer = _member("viewer", 0, True)
    assert policy.successor([viewer, later_author]) == later_author.user_id


def test_tombstones() -> None:
    user_id = uuid.uuid4()
    email = policy.tombstone_email(user_id)
    assert policy.is_tombstone(email)
    assert user_id.hex in email
    assert not policy.is_tombstone("kid@example.org")


def test_loop_switch_and_first_pass() -> None:
    assert policy.loop_enabled(RetentionSettings())
    assert not policy.loop_enabled(RetentionSettings(interval_seconds=0))
    assert policy.first_pass_delay(RetentionSettings(interval_seconds=1)) == 1
    assert policy.first_pass_delay(RetentionSettings()) == 30


def test_settings_are_read_and_bad_values_name_the_variable(tmp_path: object) -> None:
    base = {"STORYHUB_DATA_DIR": str(tmp_path), "STORYHUB_SECRET_KEY": "k" * 40}
    settings = load_settings(
        {
            **base,
            "STORYHUB_RETENTION_INTERVAL_SECONDS": "0",
            "STORYHUB_DELETION_GRACE_HOURS": "0",
            "STORYHUB_RETENTION_JOB_DAYS": "7",
            "STORYHUB_RETENTION_AUDIT_IP_DAYS": "14",
        }
    )
    assert settings.retention.audit_ip_days == 14
    assert settings.retention.interval_seconds == 0
    assert settings.retention.deletion_grace_hours == 0
    assert settings.retention.job_days == 7
    assert load_settings(base).retention == RetentionSettings()
    with pytest.raises(SettingsError, match="STORYHUB_RETENTION_SENT_MAIL_DAYS"):
        load_settings({**base, "STORYHUB_RETENTION_SENT_MAIL_DAYS": "0"})
    with pytest.raises(SettingsError, match="STORYHUB_DELETION_GRACE_HOURS"):
        load_settings({**base, "STORYHUB_DELETION_GRACE_HOURS": "soon"})
