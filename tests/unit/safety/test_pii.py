"""Each kind of personal data is found in the formats children actually type."""

from __future__ import annotations

import pytest

from storyhub.safety.pii import (
    REDACTION,
    PiiSpan,
    find_addresses,
    find_emails,
    find_handles,
    find_names,
    find_phone_fragments,
    find_phones,
    find_pii,
    find_postal_codes,
    find_schools,
    find_spelled_digits,
    find_urls,
    merge,
    redact,
)


def found(spans: list[PiiSpan], text: str) -> list[str]:
    return [text[s.start : s.end] for s in spans]


class TestEmails:
    """Plain and spelled-out addresses."""

    @pytest.mark.parametrize(
        ("text", "email"),
        [
            ("email me at lily.smith@gmail.com!", "lily.smith@gmail.com"),
            ("mine is tom_2015@yahoo.co.uk", "tom_2015@yahoo.co.uk"),
            ("write to sarah at gmail dot com", "sarah at gmail dot com"),
            ("jake (at) hotmail (dot) com", "jake (at) hotmail (dot) com"),
            ("mike[at]outlook[dot]com", "mike[at]outlook[dot]com"),
        ],
    )
    def test_finds_emails(self, text: str, email: str) -> None:
        assert email in found(find_emails(text), text)

    def test_at_and_dot_in_a_sentence_are_not_an_email(self) -> None:
        assert find_emails("look at the sky, a dot of light") == []


class TestPhones:
    """phonenumbers with POSSIBLE leniency, seven digits or more."""

    @pytest.mark.parametrize(
        "number",
        [
            "555-123-4567",
            "(555) 987-6543",
            "555.234.9876",
            "07700 900123",
            "+44 7700 900456",
            "020 7946 0018",
            "+1 212 555 0147",
            "2125550199",
            "+33 1 42 68 53 00",
            "+61 2 9876 5432",
        ],
    )
    def test_finds_us_uk_and_international_numbers(self, number: str) -> None:
        text = f"my number is {number} ok"
        assert found(find_phones(text), text) == [number]

    @pytest.mark.parametrize(
        "text",
        [
            "Chapter 12, page 394",
            "It happened in 1999 and 2000.",
            "On 2024-12-25 we opened presents.",
            "The potion cost $4.99 and pi is 3.14159",
            "There were 1,000,000 gnomes",
        ],
    )
    def test_story_numbers_are_not_phones(self, text: str) -> None:
        assert find_phones(text) == []


class TestPhoneFragments:
    """A number given in pieces after a phone cue."""

    def test_pieces_after_my_number_are_redacted(self) -> None:
        text = "my number starts with 07 and ends 900 123"
        assert found(find_phone_fragments(text), text) == ["07", "900 123"]

    def test_few_digits_after_a_cue_are_not_a_number(self) -> None:
        assert find_phone_fragments("my lucky number is 7 and I was born in 2015") == []

    def test_number_without_an_owner_is_not_a_cue(self) -> None:
        assert find_phone_fragments("The population number was 1,000,000 in 1999") == []


class TestSpelledDigits:
    """Numbers read out in words."""

    def test_finds_seven_spelled_digits(self) -> None:
        text = "my number is five five five one two three four thanks"
        assert found(find_spelled_digits(text), text) == ["five five five one two three four"]

    def test_mixed_digits_and_words_count_together(self) -> None:
        text = "it's 555 one two three four five six"
        assert found(find_spelled_digits(text), text) == ["555 one two three four five six"]

    def test_a_counting_rhyme_under_seven_digits_is_not_a_number(self) -> None:
        assert find_spelled_digits("One, two, three, four, five, once I caught a fish") == []

    def test_plain_digit_runs_are_left_to_the_phone_detector(self) -> None:
        assert find_spelled_digits("1 2 3 4 5 6 7 8") == []


class TestAddresses:
    """Street addresses in several countries' formats."""

    @pytest.mark.parametrize(
        ("text", "address"),
        [
            ("I live at 42 Oak Lane", "42 Oak Lane"),
            ("my house is 221B Baker Street, London", "221B Baker Street"),
            ("i live at 12 high st", "12 high st"),
            ("come to 350 Fifth Ave", "350 Fifth Ave"),
            ("our house is 1234 Elm St. now", "1234 Elm St."),
            ("I live at 3 Birch Close", "3 Birch Close"),
            ("I live on Hauptstraße 5 in Berlin", "Hauptstraße 5"),
            ("we are at 23 Kerkstraat", "23 Kerkstraat"),
            ("we moved to 8 rue de la Paix", "8 rue de la Paix"),
            ("I live at Calle Mayor 10, Madrid", "Calle Mayor 10"),
            ("write to PO Box 1234", "PO Box 1234"),
        ],
    )
    def test_finds_addresses(self, text: str, address: str) -> None:
        assert address in found(find_addresses(text), text)

    def test_a_street_later_in_an_i_live_sentence(self) -> None:
        text = "I live next to the big Tesco on Park Road"
        assert found(find_addresses(text), text) == ["Park Road"]

    def test_a_street_named_without_number_after_i_live_on(self) -> None:
        text = "I live on Maple Street"
        assert found(find_addresses(text), text) == ["Maple Street"]

    @pytest.mark.parametrize(
        "text",
        [
            "The hobbits walked 5 miles down the old road",
            "The 2 kids crossed the street",
            "the 3 dragons came close",
            "I travelled via London 3 times",
        ],
    )
    def test_numbers_near_street_words_in_stories_are_not_addresses(self, text: str) -> None:
        assert find_addresses(text) == []


class TestUrls:
    """Links with and without scheme, and bare domains."""

    @pytest.mark.parametrize(
        ("text", "url"),
        [
            (
                "see https://www.roblox.com/users/1/profile.",
                "https://www.roblox.com/users/1/profile",
            ),
            ("go to www.coolkidsgames.com now", "www.coolkidsgames.com"),
            ("visit mydragonblog.net", "mydragonblog.net"),
            ("my channel is youtube.com/c/LilyPlays", "youtube.com/c/LilyPlays"),
            ("see lilyart.deviantart.com", "lilyart.deviantart.com"),
            ("it is mysite dot com", "mysite dot com"),
        ],
    )
    def test_finds_urls(self, text: str, url: str) -> None:
        assert url in found(find_urls(text), text)

    @pytest.mark.parametrize(
        "text", ["The end.It was late.", "e.g. a cat", "story.txt", "Mr.Smith"]
    )
    def test_sentence_punctuation_is_not_a_domain(self, text: str) -> None:
        assert find_urls(text) == []


class TestHandles:
    """@names and "my insta is ..."."""

    @pytest.mark.parametrize(
        ("text", "handle"),
        [
            ("follow me @dragon_queen_22", "@dragon_queen_22"),
            ("my insta is lily.draws", "lily.draws"),
            ("my snap is coolkid2014", "coolkid2014"),
            ("my discord is ShadowNinja#4821", "ShadowNinja#4821"),
            ("my roblox username is BlockBuilder77", "BlockBuilder77"),
            ("ig: maya_paints", "maya_paints"),
            ("my youtube channel is called GamerBoy Tom", "GamerBoy Tom"),
            ("find me on the gram: lil_sky", "lil_sky"),
        ],
    )
    def test_finds_handles(self, text: str, handle: str) -> None:
        assert handle in found(find_handles(text), text)

    def test_emails_are_not_handles(self) -> None:
        assert find_handles("lily@gmail.com") == []

    @pytest.mark.parametrize("text", ["my minecraft house is huge", "add me on snap", "meet @ 5"])
    def test_platform_talk_without_a_name_is_not_a_handle(self, text: str) -> None:
        assert find_handles(text) == []


class TestSchools:
    """A named school after a first-person cue."""

    @pytest.mark.parametrize(
        ("text", "school"),
        [
            ("I go to Lincoln Elementary", "Lincoln Elementary"),
            ("I go to St Mary's Primary School.", "St Mary's Primary School"),
            ("my school is Oakwood Academy", "Oakwood Academy"),
            ("I'm in year 5 at Greenfield Primary", "Greenfield Primary"),
            ("I go to king edward school", "king edward school"),
        ],
    )
    def test_finds_schools(self, text: str, school: str) -> None:
        assert found(find_schools(text), text) == [school]

    @pytest.mark.parametrize(
        "text",
        [
            "I go to school on the bus",
            "I go to high school",
            "I go to the park after school",
            "Harry went to Hogwarts School of Witchcraft",
        ],
    )
    def test_going_to_school_is_not_a_school_name(self, text: str) -> None:
        assert find_schools(text) == []


class TestNamesAndPostalCodes:
    """Real names given as such; postal codes in context."""

    def test_real_name(self) -> None:
        text = "my real name is Ann Lee and I like cats"
        assert found(find_names(text), text) == ["Ann Lee"]

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            ("my zip code is 90210", "90210"),
            ("zip: 10001", "10001"),
            ("our postcode is SW1A 1AA", "SW1A 1AA"),
            ("I live in Springfield, IL 62704", "62704"),
            ("it's M1 1AE", "M1 1AE"),
        ],
    )
    def test_postal_codes(self, text: str, code: str) -> None:
        assert code in found(find_postal_codes(text), text)

    def test_five_digits_without_context_are_not_a_postal_code(self) -> None:
        assert find_postal_codes("we scored 12345 points") == []


class TestRedaction:
    """Redaction replaces exactly the spans and nothing else."""

    def test_redacts_every_span_in_place(self) -> None:
        text = "mail a@b.com or call 555-123-4567 today"
        assert redact(text, find_pii(text)) == f"mail {REDACTION} or call {REDACTION} today"

    def test_overlapping_spans_merge(self) -> None:
        assert merge([PiiSpan(0, 5, "url"), PiiSpan(3, 9, "email"), PiiSpan(12, 14, "phone")]) == [
            PiiSpan(0, 9, "url"),
            PiiSpan(12, 14, "phone"),
        ]

    def test_text_without_personal_data_has_no_spans(self) -> None:
        assert find_pii("The knight drew his sword in chapter 12.") == []
