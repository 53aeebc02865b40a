"""Visual-effect cues: keyword rules, audience caps and the committed JSON schema."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from storyhub.media.effects import (
    VisualEffects,
    derive_effects,
    effects_json_schema,
    render_effects_json_schema,
)

SCHEMA_FILE = Path(__file__).parents[3] / "docs" / "visual-effects.schema.json"


class TestRules:
    def test_snow_falls_as_snowflakes(self) -> None:
        cues = derive_effects("Snow fell softly on the quiet village.")
        assert (cues.weather, cues.particles, cues.mood) == ("snow", "snowflakes", "calm")

    def test_storm_is_tense_with_rain(self) -> None:
        cues = derive_effects("A storm roared over the sea! Thunder! Lightning!", "mature")
        assert (cues.weather, cues.particles, cues.mood) == ("storm", "raindrops", "tense")
        assert cues.transition == "zoom"

    def test_magic_sparkles(self) -> None:
        cues = derive_effects("The fairy waved her wand and cast a glowing spell.")
        assert (cues.mood, cues.particles, cues.transition) == ("magical", "sparkles", "iris")

    def test_night_forest_has_fireflies(self) -> None:
        cues = derive_effects("At night the children walked through the forest.")
        assert cues.particles == "fireflies"
        assert cues.palette[-1] == "#14213d"

    def test_underwater_bubbles_and_space_stars(self) -> None:
        assert derive_effects("The mermaid swam past the coral.").particles == "bubbles"
        assert derive_effects("The rocket flew to a far planet.").particles == "stars"

    def test_campfire_embers(self) -> None:
        assert derive_effects("They sat by the campfire and told jokes.").particles == "embers"

    def test_plain_text_is_neutral(self) -> None:
        cues = derive_effects("Sam walked to school.")
        assert (cues.mood, cues.weather, cues.particles) == ("neutral", "clear", "none")

    def test_plural_words_count(self) -> None:
        assert derive_effects("Snowflakes everywhere.").weather == "snow"

    @pytest.mark.parametrize(("rating", "cap"), [("allAges", 0.7), ("teen", 0.85), ("mature", 1.0)])
    def test_intensity_is_capped_by_audience(self, rating: str, cap: float) -> None:
        text = "Danger! A monster roared in the storm! Thunder! Run! Scared!"
        cues = derive_effects(text, rating)
        assert cues.intensity <= cap
        assert cues.intensity == pytest.approx(min(cap, 0.7 + 0.2 + 0.1))

    def test_exclamations_raise_intensity(self) -> None:
        calm = derive_effects("They went on an adventure.").intensity
        loud = derive_effects("They went on an adventure!!!").intensity
        assert loud > calm

    def test_same_text_same_cues(self) -> None:
        text = "The brave knight climbed the castle tower at sunset."
        assert derive_effects(text) == derive_effects(text)


class TestWireFormat:
    def test_encodes_camel_case_and_round_trips(self) -> None:
        cues = derive_effects("A happy party in the garden!")
        raw = msgspec.json.encode(cues)
        assert b'"particles"' in raw
        assert b'"version":1' in raw
        assert msgspec.json.decode(raw, type=VisualEffects) == cues

    def test_rejects_unknown_fields_and_bad_colours(self) -> None:
        good = msgspec.to_builtins(derive_effects("A calm day."))
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({**good, "extra": 1}, VisualEffects)
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({**good, "palette": ["red", "#000000", "#ffffff"]}, VisualEffects)
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({**good, "intensity": 1.5}, VisualEffects)

    def test_committed_schema_equals_generated_schema(self) -> None:
        assert SCHEMA_FILE.read_text() == render_effects_json_schema(), (
            "docs/visual-effects.schema.json is stale: run python -m storyhub.media.effects"
        )

    def test_schema_lists_every_field_as_required_except_version(self) -> None:
        definition = effects_json_schema()["$defs"]["VisualEffects"]
        assert set(definition["required"]) == {
            "mood",
            "palette",
            "weather",
            "particles",
            "transition",
            "intensity",
        }
        assert definition["additionalProperties"] is False
