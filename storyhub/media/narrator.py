"""The built-in narrator: a deterministic, offline story continuation.

No model and no network: the narrator reads the premise and the last segments,
finds the characters (capitalised names) and the scene, and writes a few
sentences from a bank of gentle, all-ages templates. The choice of templates
is seeded by a hash of the input, so the same story always gets the same
continuation and a different story a different one. Pinned facts and lore
entries in play are woven in as one sentence (``_memory_line``). Pure functions only.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence

from storyhub.media.scene import Mood, Scene, Setting, read_scene


def _vocab(text: str) -> frozenset[str]:
    """A word set written as one space-separated string (easier to read and edit)."""
    return frozenset(text.split())


MODEL_NAME = "storyhub-narrator-1"

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:'s)?\b")
_PAIRED = re.compile(r",? and [A-Z][a-z]+")

NOT_NAMES = _vocab("""
    The A An And But Or Then When Once One Two Three Suddenly After Before Later Soon Meanwhile
    There Here They He She It We I You His Her Hers Their Our Its My Your Me Him Them Us In On
    At With Without As So If Every Each Some This That These Those What Where Why How Who Whose
    Which Yes No Oh Ah Hello Hi Goodbye Bye Mr Mrs Ms Dr Together Finally Now Just Still All Not
    Even Maybe Perhaps Long Far Up Down Out Inside Outside Today Tomorrow Yesterday Good Great
    Little Big Upon Everyone Everybody Nobody Somebody Someone Something Nothing Let Look Come Go
    Please Thank Thanks Wow Hooray Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    January February March April May June July August September October November December
    Also Again Because While Until Through From To For Of By Into Over Under Behind Beside
    Let's Don't Can't Won't It's I'm We're They're Then Next First Last Never Always Instead
    Hey Well Okay Ok Sure Wait Stop Run Quick Quickly Slowly Carefully Chapter End Story
    """)

PLACES: dict[Setting, str] = {
    "forest": "the edge of the forest",
    "sea": "the shore",
    "underwater": "the coral reef",
    "space": "the window of the little rocket",
    "castle": "the castle gate",
    "city": "the busy street corner",
    "mountain": "the mountain path",
    "desert": "the top of a sand dune",
    "garden": "the garden wall",
    "cave": "the mouth of the cave",
    "village": "the village square",
    "meadow": "the middle of the meadow",
}
THINGS: dict[Setting, tuple[str, ...]] = {
    "forest": (
        "a silver acorn",
        "a tiny wooden door in an old oak",
        "a trail of glowing mushrooms",
    ),
    "sea": ("a message in a bottle", "a shell that hummed a tune", "a friendly seagull with a map"),
    "underwater": ("a pearl as bright as a lamp", "a sleepy sea turtle", "a sunken treasure chest"),
    "space": ("a comet with a sparkling tail", "a planet shaped like a teacup", "a lost star"),
    "castle": ("a golden key", "a portrait that winked", "a secret staircase"),
    "city": (
        "a kite stuck on a lamp post",
        "a street musician's lost hat",
        "a puppy in a raincoat",
    ),
    "mountain": ("an eagle's feather", "a cave painted with stars", "a bridge made of rope"),
    "desert": ("a singing stone", "a camel wearing a scarf", "footprints that glittered"),
    "garden": ("a snail with a painted shell", "a seed that glowed", "a bee who could not buzz"),
    "cave": ("crystals that chimed", "a lantern still warm", "a drawing of a dragon"),
    "village": ("a letter with no name on it", "a bakery that smelled of magic", "a lost mitten"),
    "meadow": ("a rainbow-coloured butterfly", "a hat that flew by itself", "a circle of daisies"),
}
COMPANIONS = (
    ("a curious fox", "the fox"),
    ("a kind old owl", "the owl"),
    ("a cheerful little robot", "the robot"),
    ("a brave mouse", "the mouse"),
)
"""A hero for stories without named characters: (first mention, later mentions)."""

OPENINGS = (
    "Just then, {hero} noticed {thing} near {place}.",
    "A moment later, {hero} spotted {thing} at {place}.",
    "Before long, {hero} came upon {thing} by {place}.",
    "All of a sudden, {thing} appeared right at {place}, and {hero} gasped.",
    "{Hero} looked around {place} and found {thing}.",
)
MIDDLES = (
    "{Hero} took a deep breath and stepped a little closer.",
    "{Hero} tilted their head and wondered what it could mean.",
    "Carefully, {hero} reached out a hand.",
    "{Hero} remembered that every good adventure starts with one small step.",
    "The air felt different, as if the whole world was holding its breath.",
    '{Hero} whispered, "I think this is important."',
)
WITH_FRIEND = (
    '{Friend} smiled and said, "Let\'s find out together!"',
    "{Friend} squeezed {hero}'s hand and nodded.",
    '"Wait for me!" called {friend}, hurrying over.',
    '{Friend} pointed and said, "Look, there is more!"',
)
MOOD_LINES: dict[Mood, tuple[str, ...]] = {
    "joyful": (
        "Everyone began to laugh, and the laughter rang out like bells.",
        "It was the happiest surprise of the whole day.",
    ),
    "calm": (
        "Everything was quiet and gentle, like a lullaby.",
        "A soft breeze carried the smell of warm bread.",
    ),
    "mysterious": (
        "Somewhere nearby, something whispered a secret.",
        "It was a puzzle, and puzzles are meant to be solved.",
    ),
    "tense": (
        "Their heart beat fast, but they stayed brave.",
        "It was a little scary, so they stayed close together.",
    ),
    "sad": (
        "They felt a little sad, but a friend's smile helped.",
        "Even on grey days, kindness makes things brighter.",
    ),
    "adventurous": (
        "There was a whole new path to explore.",
        "The adventure was only just beginning.",
    ),
    "magical": (
        "Tiny sparkles danced in the air all around them.",
        "It felt like real magic, the kind that only happens once.",
    ),
    "neutral": (
        "The day had one more surprise to share.",
        "Something wonderful was about to happen.",
    ),
}
FACT_LINES = (
    "{Hero} remembered something important: {gist}",
    "{Hero} kept one thing in mind: {gist}",
    "Nobody had forgotten it: {gist}",
)
"""Bring a pinned fact into the scene (``gist`` is its first sentence)."""
LORE_LINES = (
    "{Hero} thought of {name}. {gist}",
    "It made {hero} think of {name}. {gist}",
    "Everyone knew the tales of {name}. {gist}",
)
"""Bring a triggered lore entry into the scene, by name."""
GIST_WORDS = 24
"""A fact or lore text is quoted up to its first sentence, at most this many words."""
CLOSINGS = (
    "And so the next part of the story began.",
    "Whatever happened next, they knew they would face it together.",
    "With a grin, {hero} decided to see where it would lead.",
    "{Hero} could hardly wait to find out what came next.",
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def extract_characters(texts: Sequence[str], limit: int = 4) -> list[str]:
    """Names in ``texts``, most mentioned first (ties: first mentioned first).

    A capitalised word counts as a name when it is not a common word and it
    appears mid-sentence at least once, starts two or more sentences, or starts
    a sentence as "X and Y" where Y is capitalised ("Mia and Pip went ...").
    """
    mid: dict[str, int] = {}
    initial: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    paired: set[str] = set()
    position = 0
    for text in texts:
        for sentence in _SENTENCE_SPLIT.split(text):
            sentence = sentence.strip().lstrip("\"'([")
            for index, match in enumerate(_CAPITALISED.finditer(sentence)):
                word = match.group(0).removesuffix("'s")
                if word in NOT_NAMES:
                    continue
                position += 1
                first_seen.setdefault(word, position)
                target = initial if index == 0 and match.start() == 0 else mid
                if target is initial and _PAIRED.match(sentence, match.end()):
                    paired.add(word)
                target[word] = target.get(word, 0) + 1
    names = [w for w in first_seen if w in mid or w in paired or initial.get(w, 0) >= 2]
    names.sort(key=lambda w: (-(mid.get(w, 0) + initial.get(w, 0)), first_seen[w]))
    return names[:limit]


def gist(text: str, max_words: int = GIST_WORDS) -> str:
    """The first sentence of ``text``, at most ``max_words`` words, ending like a sentence."""
    first = _SENTENCE_SPLIT.split(text.strip(), maxsplit=1)[0].strip()
    words = first.split()
    if len(words) > max_words:
        return " ".join(words[:max_words]).rstrip(",;:-") + "…"
    if first and first[-1] not in ".!?…\"'":
        first += "."
    return _cap(first)


def _after_colon(sentence: str) -> str:
    """``sentence`` as it reads after a colon: lower-case unless it starts with a name."""
    words = sentence.split(maxsplit=1)
    if words and words[0] in NOT_NAMES and words[0] not in ("I", "I'm"):
        return sentence[:1].lower() + sentence[1:]
    return sentence


def story_seed(parts: Sequence[str]) -> int:
    """A stable seed from text (independent of ``PYTHONHASHSEED``)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _trim(sentences: list[str], max_words: int) -> str:
    kept: list[str] = []
    count = 0
    for sentence in sentences:
        n = len(sentence.split())
        if kept and count + n > max_words:
            break
        kept.append(sentence)
        count += n
    return " ".join(kept)


def continue_story(
    premise: str,
    recent_segments: Sequence[str],
    *,
    title: str = "",
    facts: Sequence[str] = (),
    lore: Sequence[tuple[str, str]] = (),
    max_words: int = 90,
    variant: int = 0,
) -> str:
    """The narrator's next segment: 3-6 gentle sentences, deterministic in the input.

    ``facts`` are pinned story memory, ``lore`` (name, text) pairs of lore
    entries in play, most recent first. The most recent lore entry, or else
    one of the facts, is brought into the scene in the second sentence; a
    story whose text names nobody takes its hero from the facts.
    """
    context = [premise, *recent_segments]
    characters = extract_characters([*recent_segments, premise]) or extract_characters(facts)
    # Lore only joins the seed when there is some: stories without it keep their text.
    lore_parts = [part for name, text in lore for part in (name, text)]
    # Likewise a variant: the first telling of a story stays what it always was.
    variants = [f"variant {variant}"] if variant else []
    seed = story_seed([title, premise, *facts, *recent_segments, *lore_parts, *variants])
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose: same story, same text
    # The mood comes from where the story is now; the setting from the latest
    # text that names one (a segment often does not repeat where it happens).
    latest = " ".join(recent_segments[-2:]) if recent_segments else premise
    mood = read_scene(latest).mood
    scene: Scene = read_scene(latest)
    if scene.setting == "meadow":  # the fallback: look at the whole story
        scene = read_scene(" ".join(context))
    if characters:
        hero_intro = hero = characters[0]
    else:
        hero_intro, hero = rng.choice(COMPANIONS)
    friend = characters[1] if len(characters) > 1 else None
    slots = {
        "hero": hero,
        "Hero": _cap(hero),
        "friend": friend or "",
        "Friend": _cap(friend or ""),
        "place": PLACES[scene.setting],
        "thing": rng.choice(THINGS[scene.setting]),
    }
    opening = rng.choice(OPENINGS).format(**{**slots, "hero": hero_intro, "Hero": _cap(hero_intro)})
    sentences = rng.sample(MIDDLES, k=rng.randint(1, 2))
    if friend:
        sentences.append(rng.choice(WITH_FRIEND))
    sentences.append(rng.choice(MOOD_LINES[mood]))
    sentences.append(rng.choice(CLOSINGS))
    filled = [_cap(opening)] + [_cap(s.format(**slots)) for s in sentences]
    # Right after the opening, so a word limit drops the other sentences first.
    remembered = _memory_line(rng, slots, facts, lore)
    if remembered:
        filled.insert(1, _cap(remembered))
    return _trim(filled, max(max_words, 10))


def _memory_line(
    rng: random.Random,
    slots: dict[str, str],
    facts: Sequence[str],
    lore: Sequence[tuple[str, str]],
) -> str:
    """A sentence that brings the newest lore entry, or a pinned fact, into the scene."""
    if lore:
        name, text = lore[0]
        return rng.choice(LORE_LINES).format(**slots, name=name.strip(), gist=gist(text))
    usable = [fact for fact in facts if fact.strip()]
    if not usable:
        return ""
    fact = _after_colon(gist(rng.choice(usable)))
    return rng.choice(FACT_LINES).format(**slots, gist=fact)
