"""Visual-effect cues: the wire format and the rules that derive it from text.

Clients render the cues (a tint, falling snow, a soft transition); the server
only describes them. The JSON schema in ``docs/visual-effects.schema.json`` is
generated from :class:`VisualEffects` (``python -m storyhub.media.effects``)
and a test keeps the two equal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from storyhub.media.scene import Mood, Scene, Setting, Weather, read_scene

Particles = Literal[
    "none",
    "snowflakes",
    "raindrops",
    "bubbles",
    "stars",
    "sparkles",
    "embers",
    "fireflies",
    "leaves",
]
Transition = Literal["fade", "dissolve", "slide", "wipe", "zoom", "iris"]
HexColor = Annotated[str, msgspec.Meta(pattern="^#[0-9a-f]{6}$", examples=["#1d3557"])]


class VisualEffects(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True
):
    """Visual-effect cues for one story segment (storyhub schema version 1)."""

    mood: Annotated[Mood, msgspec.Meta(description="The feeling of the passage.")]
    palette: Annotated[
        tuple[HexColor, ...],
        msgspec.Meta(
            min_length=3, max_length=5, description="Colours to tint the scene, dominant first."
        ),
    ]
    weather: Annotated[Weather, msgspec.Meta(description="Weather to show over the scene.")]
    particles: Annotated[Particles, msgspec.Meta(description="Particle layer, or none.")]
    transition: Annotated[
        Transition, msgspec.Meta(description="How to move from the previous segment.")
    ]
    intensity: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=1.0,
            description="How strong the effects should be, 0 (subtle) to 1 (strong); "
            "capped lower for younger audiences.",
        ),
    ]
    version: Annotated[Literal[1], msgspec.Meta(description="Schema version.")] = 1


MOOD_PALETTES: Mapping[Mood, tuple[str, str, str]] = {
    "joyful": ("#ffd166", "#ef476f", "#06d6a0"),
    "calm": ("#a8dadc", "#457b9d", "#f1faee"),
    "mysterious": ("#3d405b", "#81b29a", "#6d597a"),
    "tense": ("#2b2d42", "#8d99ae", "#d62828"),
    "sad": ("#5c677d", "#979dac", "#33415c"),
    "adventurous": ("#f77f00", "#fcbf49", "#003049"),
    "magical": ("#9d4edd", "#f72585", "#4cc9f0"),
    "neutral": ("#e9ecef", "#adb5bd", "#495057"),
}
SETTING_ACCENTS: Mapping[Setting, str] = {
    "forest": "#2d6a4f",
    "sea": "#0077b6",
    "underwater": "#023e8a",
    "space": "#10002b",
    "castle": "#7f5539",
    "city": "#6c757d",
    "mountain": "#588157",
    "desert": "#e9c46a",
    "garden": "#80b918",
    "cave": "#3e2c23",
    "village": "#bc6c25",
    "meadow": "#95d5b2",
}
NIGHT_ACCENT = "#14213d"
TRANSITIONS: Mapping[Mood, Transition] = {
    "joyful": "slide",
    "calm": "fade",
    "mysterious": "dissolve",
    "tense": "zoom",
    "sad": "fade",
    "adventurous": "wipe",
    "magical": "iris",
    "neutral": "dissolve",
}
BASE_INTENSITY: Mapping[Mood, float] = {
    "tense": 0.7,
    "adventurous": 0.65,
    "magical": 0.6,
    "joyful": 0.55,
    "mysterious": 0.45,
    "sad": 0.35,
    "neutral": 0.3,
    "calm": 0.25,
}
INTENSITY_CAP: Mapping[str, float] = {"allAges": 0.7, "teen": 0.85, "mature": 1.0}
"""Young audiences get gentler effects whatever the text says."""


def _particles(scene: Scene) -> Particles:
    weather_particles: Mapping[Weather, Particles] = {
        "snow": "snowflakes",
        "rain": "raindrops",
        "storm": "raindrops",
    }
    if scene.weather in weather_particles:
        return weather_particles[scene.weather]
    if scene.setting == "underwater":
        return "bubbles"
    if scene.fire:
        return "embers"
    if scene.setting == "space":
        return "stars"
    if scene.mood == "magical":
        return "sparkles"
    if scene.time_of_day == "night" and scene.setting in ("forest", "meadow", "garden"):
        return "fireflies"
    if scene.weather == "wind":
        return "leaves"
    return "none"


def derive_effects(text: str, age_rating: str = "allAges") -> VisualEffects:
    """Cues for ``text`` by keyword rules; the same text always gives the same cues."""
    scene = read_scene(text)
    base = MOOD_PALETTES[scene.mood]
    accent = NIGHT_ACCENT if scene.time_of_day == "night" else SETTING_ACCENTS[scene.setting]
    palette = (*base, accent) if accent not in base else base
    intensity = BASE_INTENSITY[scene.mood] + min(scene.excitement, 4) * 0.05
    if scene.weather == "storm":
        intensity += 0.1
    intensity = min(intensity, INTENSITY_CAP.get(age_rating, INTENSITY_CAP["allAges"]))
    return VisualEffects(
        mood=scene.mood,
        palette=palette,
        weather=scene.weather,
        particles=_particles(scene),
        transition=TRANSITIONS[scene.mood],
        intensity=round(intensity, 2),
    )


def effects_json_schema() -> dict[str, Any]:
    """The JSON schema of :class:`VisualEffects`, as committed in ``docs/``."""
    schema = msgspec.json.schema(VisualEffects)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://storyhub.dev/schemas/visual-effects.schema.json"
    schema["title"] = "storyhub visual effects"
    return schema


def render_effects_json_schema() -> str:
    """The schema file's exact text (sorted keys, two-space indent, final newline)."""
    return json.dumps(effects_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover - a developer tool
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/visual-effects.schema.json")
    target.write_text(render_effects_json_schema())
    print(f"wrote {target}")
