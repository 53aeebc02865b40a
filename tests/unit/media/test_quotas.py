"""Generation quotas over a rolling day: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storyhub.media.quotas import (
    QuotaLimits,
    count_by_kind,
    job_kind,
    media_kind_of,
    quota_denial,
    seconds_until_free,
    window_start,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LIMITS = QuotaLimits(per_user=3, per_story=5)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_below_both_limits_is_allowed() -> None:
    assert quota_denial([ago(hours=1)] * 2, [ago(hours=1)] * 4, LIMITS, NOW) is None


def test_the_user_limit_is_reported_first_with_when_the_oldest_ages_out() -> None:
    user = [ago(hours=23), ago(hours=2), ago(minutes=5)]
    denial = quota_denial(user, user * 2, LIMITS, NOW)
    assert denial is not None
    assert (denial.scope, denial.limit) == ("user", 3)
    assert denial.retry_after_seconds == 3600  # the 23-hour-old request leaves in an hour
    assert "limit of 3 media requests in 24 hours" in denial.message
    assert denial.message.startswith("You have")


def test_the_story_limit_applies_to_everyone_on_the_story() -> None:
    story = [ago(hours=h) for h in (20, 10, 5, 3, 1)]
    denial = quota_denial([], story, LIMITS, NOW)
    assert denial is not None
    assert (denial.scope, denial.limit) == ("story", 5)
    assert denial.retry_after_seconds == 4 * 3600
    assert denial.message.startswith("This story has")


def test_over_the_limit_waits_for_enough_requests_to_age_out() -> None:
    # Five requests against a limit of 3 (the limit was lowered): two must leave.
    times = [ago(hours=h) for h in (23, 22, 21, 1, 0.5)]
    assert seconds_until_free(times, 3, NOW) == 3 * 3600


def test_a_zero_limit_refuses_everything_and_says_a_day() -> None:
    denial = quota_denial([], [], QuotaLimits(per_user=0, per_story=10), NOW)
    assert denial is not None
    assert denial.retry_after_seconds == 24 * 3600


def test_retry_after_is_never_below_one_second() -> None:
    assert seconds_until_free([ago(hours=24, microseconds=-1)], 1, NOW) == 1


def test_window_and_kinds() -> None:
    assert window_start(NOW) == ago(hours=24)
    assert job_kind("video") == "media:video"
    assert media_kind_of("media:cover") == "cover"
    assert media_kind_of("book") is None
    kinds = ["media:image", "book", "media:image", "media:cover", "accountDeletion"]
    assert count_by_kind(kinds) == {"image": 2, "cover": 1}
