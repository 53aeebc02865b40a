"""Reading a scene out of plain text: words, setting, time of day, weather, mood.

Pure functions shared by the offline illustrator and the visual-effect rules,
so that a segment's picture and its effects agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal


def _vocab(text: str) -> frozenset[str]:
    """A word set written as one space-separated string (easier to read and edit)."""
    return frozenset(text.split())


Mood = Literal["joyful", "calm", "mysterious", "tense", "sad", "adventurous", "magical", "neutral"]
Weather = Literal["clear", "sunny", "rain", "snow", "storm", "fog", "wind"]
Setting = Literal[
    "forest",
    "sea",
    "underwater",
    "space",
    "castle",
    "city",
    "mountain",
    "desert",
    "garden",
    "cave",
    "village",
    "meadow",
]
TimeOfDay = Literal["day", "sunset", "night"]

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

MOOD_WORDS: Mapping[Mood, frozenset[str]] = {
    "joyful": _vocab(
        "happy laugh laughed laughing smile smiled smiling joy cheer cheered celebrate party "
        "giggle giggled fun delight delighted hooray dance danced sing sang"
    ),
    "calm": _vocab(
        "quiet calm peaceful gentle gently soft softly rest rested sleep slept asleep dream "
        "dreamed still cozy warm hush lullaby"
    ),
    "mysterious": _vocab(
        "mystery mysterious secret strange shadow shadows whisper whispered hidden unknown "
        "puzzle riddle curious door key map clue"
    ),
    "tense": _vocab(
        "danger dangerous afraid scared fear dark chase chased roar roared trap trapped worried "
        "nervous growl growled monster creak creaked hurry"
    ),
    "sad": _vocab(
        "sad cry cried crying tears lonely lost miss missed sorry goodbye gloomy sigh sighed"
    ),
    "adventurous": _vocab(
        "adventure explore explored journey quest climb climbed race raced brave discover "
        "discovered sail sailed fly flew run ran jump jumped leap leaped"
    ),
    "magical": _vocab(
        "magic magical spell wizard witch fairy fairies dragon enchanted glow glowed glowing "
        "sparkle sparkled sparkling wand unicorn potion"
    ),
}
MOOD_ORDER: tuple[Mood, ...] = (
    "magical",
    "adventurous",
    "joyful",
    "mysterious",
    "tense",
    "sad",
    "calm",
)

WEATHER_WORDS: Mapping[Weather, frozenset[str]] = {
    "storm": _vocab("storm stormy thunder lightning hurricane tempest"),
    "rain": _vocab("rain rained raining rainy drizzle puddle puddles umbrella"),
    "snow": _vocab("snow snowy snowed snowflake snowflakes blizzard winter frost icy"),
    "fog": _vocab("fog foggy mist misty haze hazy"),
    "wind": _vocab("wind windy gust gusts breeze blew blowing"),
    "sunny": _vocab("sun sunny sunshine sunlight bright summer"),
}
WEATHER_ORDER: tuple[Weather, ...] = ("storm", "rain", "snow", "fog", "wind", "sunny")

SETTING_WORDS: Mapping[Setting, frozenset[str]] = {
    "underwater": _vocab("underwater coral mermaid reef seabed submarine fish"),
    "space": _vocab("space rocket planet planets galaxy astronaut spaceship comet orbit"),
    "sea": _vocab("sea ocean beach wave waves ship boat island shore sail sailed"),
    "forest": _vocab("forest woods wood tree trees jungle leaves oak pine"),
    "castle": _vocab("castle tower palace king queen prince princess knight throne"),
    "cave": _vocab("cave caves cavern tunnel underground"),
    "mountain": _vocab("mountain mountains hill hills cliff peak valley"),
    "desert": _vocab("desert sand dune dunes camel oasis"),
    "city": _vocab("city street streets town bus car cars building buildings shop"),
    "garden": _vocab("garden flower flowers flowerbed bees butterfly butterflies"),
    "village": _vocab("village cottage farm barn house home"),
    "meadow": _vocab("meadow field fields grass picnic"),
}
SETTING_ORDER: tuple[Setting, ...] = (
    "underwater",
    "space",
    "sea",
    "castle",
    "cave",
    "forest",
    "mountain",
    "desert",
    "garden",
    "city",
    "village",
    "meadow",
)

NIGHT_WORDS = _vocab("night midnight moon moonlight stars starry dark evening bedtime")
SUNSET_WORDS = _vocab("sunset dusk twilight sundown")
FIRE_WORDS = _vocab("fire campfire flame flames lava volcano fireplace bonfire torch")


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; a plural is also counted as its singular."""
    found = _WORD.findall(text.lower())
    return found + [w[:-1] for w in found if len(w) > 3 and w.endswith("s")]


def _best(counts: Iterable[tuple[str, int]]) -> str | None:
    best, best_count = None, 0
    for name, count in counts:
        if count > best_count:  # strict: earlier names win ties
            best, best_count = name, count
    return best


@dataclass(frozen=True)
class Scene:
    """What a passage of text describes, as far as keyword rules can tell."""

    mood: Mood
    weather: Weather
    setting: Setting
    time_of_day: TimeOfDay
    excitement: int
    """Exclamation marks in the text, a rough measure of intensity."""
    fire: bool = False
    """Something burns in the scene (a campfire, a volcano)."""


def read_scene(text: str) -> Scene:
    """Classify ``text`` into mood, weather, setting and time of day (deterministic)."""
    ws = words(text)
    bag: dict[str, int] = {}
    for w in ws:
        bag[w] = bag.get(w, 0) + 1

    def score(vocab: frozenset[str]) -> int:
        return sum(count for w, count in bag.items() if w in vocab)

    mood = _best((m, score(MOOD_WORDS[m])) for m in MOOD_ORDER) or "neutral"
    weather = _best((w, score(WEATHER_WORDS[w])) for w in WEATHER_ORDER) or "clear"
    setting = _best((s, score(SETTING_WORDS[s])) for s in SETTING_ORDER) or "meadow"
    if score(NIGHT_WORDS) > 0 or setting == "space":
        time_of_day: TimeOfDay = "night"
    elif score(SUNSET_WORDS) > 0:
        time_of_day = "sunset"
    else:
        time_of_day = "day"
    return Scene(
        mood=mood,  # type: ignore[arg-type]
        weather=weather,  # type: ignore[arg-type]
        setting=setting,  # type: ignore[arg-type]
        time_of_day=time_of_day,
        excitement=text.count("!"),
        fire=score(FIRE_WORDS) > 0,
    )
