"""The curated rules find each category, at the right severity, and spare stories."""

from __future__ import annotations

import pytest

from storyhub.safety.rules import (
    RuleDataError,
    RuleSet,
    any_phrase,
    load_rules,
    parse_allowlist,
    parse_lexicon,
    parse_phrases,
)


def scan(text: str) -> set[tuple[str, str]]:
    rules = load_rules()
    return {(f.category, f.severity) for f in rules.scan(rules.normalise(text))}


def categories(text: str) -> set[str]:
    return {c for c, _ in scan(text)}


CASES = {
    "profanity": ["fuck this", "you piece of sh1t", "f u c k", "b!tch", "f*ck you", "fuuuuck"],
    "sexual": [
        "let's have sex",
        "send nudes",
        "show me your boobs",
        "suck my dick",
        "i want to see u naked",
    ],
    "violence": [
        "I'm going to kill you",
        "i will stab you tomorrow",
        "I'm gonna shoot up the school",
        "she slit his throat",
        "i will end you",
        "i'm bringing a knife to school",
        "ima smash ur face in",
    ],
    "selfHarm": [
        "I want to kill myself",
        "i want to die",
        "kys",
        "go hang yourself",
        "gonna unalive myself",
        "i don't see the point in living anymore",
        "jump off a bridge",
    ],
    "hate": [
        "faggot",
        "go back to your country",
        "all immigrants are animals",
        "heil hitler",
        "nazis are cool",
        "immigrants are ruining this country",
    ],
    "drugs": [
        "let's smoke weed",
        "I got some cocaine",
        "snorting coke",
        "we got high on pot",
        "he gave me a gummy with thc",
    ],
    "grooming": [
        "what's your address?",
        "don't tell your parents about me",
        "send me a pic",
        "are you home alone?",
        "add me on snapchat",
        "you're very mature for your age",
        "let's meet in real life",
        "send feet pics",
        "ill give u free robux",
        "what grade r u in? u alone?",
        "do ur parents check ur phone?",
        "i can be ur secret bf",
    ],
}


class TestCategories:
    """Each category has rules that fire on typical messages."""

    @pytest.mark.parametrize(
        ("category", "text"), [(c, t) for c, texts in CASES.items() for t in texts]
    )
    def test_category_is_found(self, category: str, text: str) -> None:
        assert category in categories(text)

    @pytest.mark.parametrize(
        "text",
        [
            "We visited Scunthorpe",
            "The assassin crept along the wall",
            "Dad made a fruit cocktail",
            "Dick Whittington walked to London",
            "The cock crowed three times",
            "the blue tits nested in the box",
            "our class read about homo sapiens",
            "I'll kill it at the recital",
            "The knight drew his sword and slew the dragon",
            "Let's blow up the balloons",
            "Be careful not to hurt yourself on the slide",
            "I hurt myself when I fell off my bike",
            "The grass in the glass house",
            "The embassy held a party",
        ],
    )
    def test_innocent_text_has_no_findings(self, text: str) -> None:
        assert scan(text) == set()


class TestSeverity:
    """Severities decide which rooms block a finding."""

    def test_mild_profanity_is_mild(self) -> None:
        assert scan("damn it") == {("profanity", "mild")}

    def test_strong_profanity_is_strong(self) -> None:
        assert scan("fuck it") == {("profanity", "strong")}

    def test_self_harm_disclosure_is_strong_but_encouragement_severe(self) -> None:
        assert scan("i want to die") == {("selfHarm", "strong")}
        assert scan("you should kill yourself") >= {("selfHarm", "severe")}

    def test_sexual_content_involving_a_minor_is_severe(self) -> None:
        assert scan("let's have sex") == {("sexual", "strong")}
        assert ("sexual", "severe") in scan("sex with a 12 year old")

    def test_grooming_and_hate_are_severe(self) -> None:
        assert scan("what's your address") == {("grooming", "severe")}
        assert scan("chink") == {("hate", "severe")}


class TestContext:
    """Context decides ambiguous phrases."""

    def test_dialogue_tag_spares_a_fiction_phrase(self) -> None:
        assert scan("Where do you live, little mouse? asked the owl.") == set()
        assert categories("where do you live exactly?") == {"grooming"}

    def test_how_old_are_you_alone_is_innocent(self) -> None:
        assert scan("How old are you? I am nine.") == set()

    def test_how_old_are_you_with_a_second_cue_is_grooming(self) -> None:
        assert categories("how old are you? i am alone") == {"grooming"}

    def test_send_me_a_picture_of_a_thing_is_innocent(self) -> None:
        assert scan("send me a picture of the dragon you drew") == set()

    def test_postcard_is_not_a_photo(self) -> None:
        assert scan("Send me a postcard from Paris, Grandma!") == set()


class TestData:
    """The curated files parse, and broken lines are reported with their line number."""

    def test_packaged_rules_load(self) -> None:
        rules = load_rules()
        assert len(rules.lexicon) > 100
        assert len(rules.phrases) > 50

    def test_bad_lexicon_line_names_its_line(self) -> None:
        with pytest.raises(RuleDataError, match="line 7"):
            parse_lexicon([(7, "fuck profanity extreme sub")])

    def test_bad_phrase_regex_names_its_line(self) -> None:
        with pytest.raises(RuleDataError, match="line 3"):
            parse_phrases([(3, "hate severe : (unclosed")])

    def test_unknown_macro_is_an_error(self) -> None:
        with pytest.raises(RuleDataError, match="unknown macro"):
            parse_phrases([(1, "hate severe : {nothing}")])

    def test_lexicon_match_modes(self) -> None:
        rules = RuleSet(
            lexicon=parse_lexicon(
                [
                    (1, "cunt profanity strong prefix"),
                    (2, "shit profanity strong affix"),
                    (3, "ass profanity mild word"),
                ]
            ),
            phrases=[],
        )
        assert rules.lookup("cunts") is not None
        assert rules.lookup("scunthorpe") is None
        assert rules.lookup("bullshit") is not None
        assert rules.lookup("ass") is not None
        assert rules.lookup("class") is None
        assert rules.lookup("a*s") is not None

    def test_allowlist_blanks_names(self) -> None:
        rules = RuleSet(
            lexicon=parse_lexicon([(1, "dick profanity strong word")]),
            phrases=[],
            allowlist=parse_allowlist([(1, "moby dick")]),
        )
        assert rules.scan(rules.normalise("Moby Dick")) == []
        assert rules.scan(rules.normalise("you dick")) != []


class TestAnyPhrase:
    """The one-search shortcut skips the rules only when none of them would match."""

    def texts(self) -> list[str]:
        from pathlib import Path

        from storyhub.safety.evaluation import load_corpus

        corpora = Path(__file__).parents[2] / "safety"
        texts = [
            item.text
            for name in ("corpus.jsonl", "holdout.jsonl", "probe.jsonl")
            for item in load_corpus(corpora / name)
        ]
        return texts + [text for examples in CASES.values() for text in examples]

    def test_it_agrees_with_every_rule_on_every_corpus_text(self) -> None:
        rules = load_rules()
        combined = any_phrase(rules.phrases)
        assert combined is not None
        matched = 0
        for text in self.texts():
            canonical = rules.normalise(text).canonical
            some_rule = any(r.pattern.search(canonical) for r in rules.phrases)
            assert (combined.search(canonical) is not None) == some_rule, text
            matched += some_rule
        assert matched > 50  # the corpus does exercise the rules

    def test_scan_finds_a_phrase_at_the_end_of_a_long_clean_text(self) -> None:
        text = "the dragon flew home. " * 40 + "send nudes"
        assert "sexual" in categories(text)
