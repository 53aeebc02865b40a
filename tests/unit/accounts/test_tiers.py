"""Age, tier and consent rules at their boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storyhub.accounts import tiers


class TestAge:
    """Whole years, counted the way birthdays are."""

    def test_day_before_birthday_is_still_younger(self) -> None:
        assert tiers.age_on(date(2010, 6, 15), date(2023, 6, 14)) == 12

    def test_birthday_itself_counts(self) -> None:
        assert tiers.age_on(date(2010, 6, 15), date(2023, 6, 15)) == 13

    def test_day_after_birthday(self) -> None:
        assert tiers.age_on(date(2010, 6, 15), date(2023, 6, 16)) == 13

    def test_born_today_is_zero(self) -> None:
        assert tiers.age_on(date(2024, 1, 1), date(2024, 1, 1)) == 0

    def test_leap_day_birthday_comes_on_first_of_march_in_common_years(self) -> None:
        born = date(2008, 2, 29)
        assert tiers.age_on(born, date(2021, 2, 28)) == 12
        assert tiers.age_on(born, date(2021, 3, 1)) == 13

    def test_leap_day_birthday_in_a_leap_year(self) -> None:
        born = date(2008, 2, 29)
        assert tiers.age_on(born, date(2024, 2, 28)) == 15
        assert tiers.age_on(born, date(2024, 2, 29)) == 16

    def test_future_birth_date_is_refused(self) -> None:
        with pytest.raises(tiers.InvalidBirthDate):
            tiers.age_on(date(2030, 1, 2), date(2030, 1, 1))

    def test_more_than_120_years_is_refused(self) -> None:
        today = date(2026, 5, 1)
        assert tiers.check_birth_date(date(1905, 5, 2), today) == 120
        with pytest.raises(tiers.InvalidBirthDate):
            tiers.check_birth_date(date(1905, 5, 1), today)

    @given(
        born=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
        days=st.integers(min_value=0, max_value=60_000),
    )
    def test_age_never_decreases_and_grows_by_one_a_year(self, born: date, days: int) -> None:
        today = born + timedelta(days=days)
        age = tiers.age_on(born, today)
        assert 0 <= age <= days // 365
        assert tiers.age_on(born, today + timedelta(days=1)) in (age, age + 1)


class TestTier:
    """Tier boundaries at 13, 16 and 18."""

    @pytest.mark.parametrize(
        ("age", "tier"),
        [
            (0, "child"),
            (12, "child"),
            (13, "teen"),
            (15, "teen"),
            (16, "olderTeen"),
            (17, "olderTeen"),
            (18, "adult"),
            (120, "adult"),
        ],
    )
    def test_tier_for_age(self, age: int, tier: str) -> None:
        assert tiers.tier_for_age(age) == tier

    def test_negative_age_is_a_bug(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            tiers.tier_for_age(-1)

    def test_tier_changes_on_the_thirteenth_birthday(self) -> None:
        born = date(2012, 3, 10)
        assert tiers.tier_for_age(tiers.age_on(born, date(2025, 3, 9))) == "child"
        assert tiers.tier_for_age(tiers.age_on(born, date(2025, 3, 10))) == "teen"


class TestConsent:
    """The age of digital consent by country (GDPR Art. 8, COPPA)."""

    @pytest.mark.parametrize(
        ("country", "age"),
        [("DE", 16), ("FR", 15), ("ES", 14), ("GB", 13), ("US", 13), ("NL", 16)],
    )
    def test_known_countries(self, country: str, age: int) -> None:
        assert tiers.digital_consent_age(country) == age
        assert tiers.needs_parental_consent(age - 1, country)
        assert not tiers.needs_parental_consent(age, country)

    def test_unknown_or_missing_country_uses_the_strictest_default(self) -> None:
        assert tiers.digital_consent_age(None) == 16
        assert tiers.digital_consent_age("ZZ") == 16
        assert tiers.needs_parental_consent(15, None)

    def test_every_table_entry_is_within_gdpr_range(self) -> None:
        assert all(13 <= age <= 16 for age in tiers.DIGITAL_CONSENT_AGE.values())

    def test_a_child_always_needs_consent(self) -> None:
        for country in [*tiers.DIGITAL_CONSENT_AGE, None]:
            assert tiers.needs_parental_consent(12, country)

    @pytest.mark.parametrize("raw", ["de", " DE ", "De"])
    def test_country_codes_are_normalised(self, raw: str) -> None:
        assert tiers.normalise_country(raw) == "DE"

    @pytest.mark.parametrize("raw", ["", "D", "DEU", "1A", "Ü1"])
    def test_malformed_country_codes_are_refused(self, raw: str) -> None:
        with pytest.raises(ValueError, match="two-letter"):
            tiers.normalise_country(raw)
