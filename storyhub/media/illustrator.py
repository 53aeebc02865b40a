"""The offline illustrator: a picture drawn with Pillow from the prompt.

The prompt is read like a segment (``scene.read_scene``): the setting picks
the landscape, the time of day and weather the sky, the mood the accent
colours; capitalised names become simple figures with their name above them,
and the caption is written along the bottom. Everything is seeded by a hash
of the input, so the same prompt always gives the same PNG. CPU-bound and
synchronous: call it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import random
import textwrap
import threading

from PIL import Image, ImageDraw, ImageFont

from storyhub.media.effects import MOOD_PALETTES
from storyhub.media.narrator import extract_characters, story_seed
from storyhub.media.scene import Scene, read_scene

MODEL_NAME = "storyhub-illustrator-1"
MIN_SIDE, MAX_SIDE = 64, 2048

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _hex(color: str) -> RGB:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


SKIES: dict[str, tuple[str, str]] = {
    "day": ("#6ec6f5", "#e0f4ff"),
    "sunset": ("#ff7e5f", "#feb47b"),
    "night": ("#0b1d3a", "#2a4470"),
    "storm": ("#4b5563", "#9ca3af"),
    "fog": ("#b8c4d0", "#e2e8f0"),
    "underwater": ("#023e8a", "#48cae4"),
    "space": ("#10002b", "#3c096c"),
}
GROUNDS: dict[str, str] = {
    "forest": "#2d6a4f",
    "sea": "#f2d492",
    "castle": "#6a994e",
    "city": "#6c757d",
    "mountain": "#588157",
    "desert": "#e9c46a",
    "garden": "#80b918",
    "cave": "#4a3b31",
    "village": "#7cb518",
    "meadow": "#95d5b2",
    "underwater": "#e6ccb2",
    "space": "#8d99ae",
}
SKIN_TONES = ("#f1c27d", "#e0ac69", "#c68642", "#8d5524", "#ffdbac")


_fonts = threading.local()


def _font(size: int) -> Font:
    """A font of ``size`` pixels, cached per thread (a FreeType face is not thread-safe)."""
    cache: dict[int, Font] = getattr(_fonts, "cache", None) or {}
    _fonts.cache = cache
    if size not in cache:
        for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
            try:
                cache[size] = ImageFont.truetype(name, size)
                break
            except OSError:
                continue
        else:
            cache[size] = ImageFont.load_default(size=size)
    return cache[size]


def _sky(scene: Scene) -> tuple[str, str]:
    if scene.setting in ("underwater", "space"):
        return SKIES[scene.setting]
    if scene.weather == "storm":
        return SKIES["storm"]
    if scene.weather == "fog":
        return SKIES["fog"]
    return SKIES[scene.time_of_day]


def _gradient(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], top: RGB, bottom: RGB
) -> None:
    x0, y0, x1, y1 = box
    height = max(y1 - y0, 1)
    for y in range(y0, y1):
        draw.line([(x0, y), (x1, y)], fill=_mix(top, bottom, (y - y0) / height))


def _landscape(
    draw: ImageDraw.ImageDraw, scene: Scene, rng: random.Random, w: int, h: int, horizon: int
) -> None:
    ground = _hex(GROUNDS[scene.setting])
    if scene.weather == "snow":
        ground = _mix(ground, (250, 250, 255), 0.8)
    if scene.setting == "sea":
        draw.rectangle([0, horizon - h // 10, w, horizon + h // 12], fill=_hex("#0077b6"))
        for _ in range(8):
            x = rng.randint(0, w)
            y = rng.randint(horizon - h // 10, horizon + h // 14)
            draw.arc([x, y, x + w // 12, y + h // 30], 180, 360, fill=(255, 255, 255), width=2)
        draw.rectangle([0, horizon + h // 12, w, h], fill=ground)
        return
    if scene.setting == "mountain":
        for i in range(3):
            cx = rng.randint(0, w)
            peak = horizon - rng.randint(h // 6, h // 3)
            shade = _mix(ground, (60, 60, 80), 0.3 + 0.15 * i)
            draw.polygon([(cx - w // 3, horizon), (cx, peak), (cx + w // 3, horizon)], fill=shade)
            draw.polygon(
                [(cx - w // 24, peak + h // 20), (cx, peak), (cx + w // 24, peak + h // 20)],
                fill=(250, 250, 250),
            )
    if scene.setting == "city":
        x = 0
        while x < w:
            bw = rng.randint(w // 14, w // 7)
            bh = rng.randint(h // 8, h // 3)
            body = _mix((90, 90, 110), (160, 160, 180), rng.random())
            draw.rectangle([x, horizon - bh, x + bw, horizon], fill=body)
            for wy in range(horizon - bh + 8, horizon - 8, max(h // 30, 6)):
                for wx in range(x + 6, x + bw - 6, max(w // 60, 6)):
                    lit = scene.time_of_day == "night" and rng.random() < 0.5
                    draw.rectangle(
                        [wx, wy, wx + 3, wy + 4], fill=(255, 230, 120) if lit else (60, 70, 90)
                    )
            x += bw + rng.randint(2, w // 40 + 3)
    if scene.setting == "castle":
        cx, cw, ch = w // 2 + rng.randint(-w // 6, w // 6), w // 4, h // 4
        stone = (150, 140, 130)
        draw.rectangle([cx - cw // 2, horizon - ch, cx + cw // 2, horizon], fill=stone)
        for side in (-1, 1):
            tx = cx + side * cw // 2
            draw.rectangle(
                [tx - w // 30, horizon - ch - h // 10, tx + w // 30, horizon], fill=stone
            )
            draw.polygon(
                [
                    (tx - w // 25, horizon - ch - h // 10),
                    (tx, horizon - ch - h // 5),
                    (tx + w // 25, horizon - ch - h // 10),
                ],
                fill=_hex("#9d4edd"),
            )
        draw.rectangle([cx - w // 40, horizon - ch // 3, cx + w // 40, horizon], fill=(80, 50, 30))
    if scene.setting == "desert":
        for _ in range(3):
            cx = rng.randint(0, w)
            draw.ellipse(
                [cx - w // 4, horizon - h // 12, cx + w // 4, horizon + h // 12],
                fill=_mix(ground, (200, 150, 80), 0.3),
            )
    draw.rectangle([0, horizon, w, h], fill=ground)
    if scene.setting == "underwater":
        for _ in range(7):
            x = rng.randint(0, w)
            draw.line(
                [(x, h), (x + rng.randint(-20, 20), horizon - rng.randint(h // 10, h // 4))],
                fill=(46, 160, 67),
                width=max(w // 150, 3),
            )
    if scene.setting in ("forest", "garden", "village", "meadow"):
        count = {"forest": 9, "garden": 3, "village": 2, "meadow": 2}[scene.setting]
        for _ in range(count):
            x = rng.randint(0, w)
            size = rng.randint(h // 12, h // 6)
            base = horizon + rng.randint(-h // 40, h // 30)
            draw.rectangle([x - size // 8, base - size, x + size // 8, base], fill=(110, 72, 40))
            leaf = _hex("#1b4332") if scene.setting == "forest" else _hex("#38b000")
            if scene.weather == "snow":
                leaf = _mix(leaf, (245, 245, 255), 0.6)
            draw.ellipse(
                [x - size // 2, base - size * 3 // 2, x + size // 2, base - size // 2], fill=leaf
            )
    if scene.setting in ("garden", "meadow"):
        for _ in range(25):
            x, y = rng.randint(0, w), rng.randint(horizon + 5, h)
            petal = rng.choice([(255, 105, 180), (255, 214, 10), (255, 255, 255), (155, 93, 229)])
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=petal)
    if scene.setting == "village":
        hx = rng.randint(w // 6, w // 2)
        hw, hh = w // 7, h // 7
        draw.rectangle([hx, horizon - hh, hx + hw, horizon], fill=(230, 200, 160))
        draw.polygon(
            [(hx - 8, horizon - hh), (hx + hw // 2, horizon - hh * 2), (hx + hw + 8, horizon - hh)],
            fill=(170, 60, 50),
        )
    if scene.fire:
        fx, fy = w * 3 // 4, horizon + (h - horizon) // 3
        for radius, color in ((h // 14, (255, 120, 0)), (h // 22, (255, 200, 0))):
            draw.polygon([(fx - radius, fy), (fx, fy - radius * 2), (fx + radius, fy)], fill=color)


def _sky_objects(
    draw: ImageDraw.ImageDraw, scene: Scene, rng: random.Random, w: int, h: int, horizon: int
) -> None:
    if scene.time_of_day == "night" or scene.setting == "space":
        for _ in range(60):
            x, y = rng.randint(0, w), rng.randint(0, max(horizon - 10, 1))
            r = rng.choice((1, 1, 2))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 230))
        mx, my, mr = w * 4 // 5, h // 6, h // 14
        draw.ellipse([mx - mr, my - mr, mx + mr, my + mr], fill=(250, 245, 210))
        if scene.setting == "space":
            px, py, pr = w // 5, h // 4, h // 9
            draw.ellipse([px - pr, py - pr, px + pr, py + pr], fill=_hex("#f4a261"))
            draw.arc(
                [px - pr * 2, py - pr // 3, px + pr * 2, py + pr // 3],
                160,
                380,
                fill=(255, 230, 180),
                width=3,
            )
    elif scene.setting != "underwater" and scene.weather not in ("storm", "fog", "rain"):
        sx, sy, sr = w * 4 // 5, h // 6, h // 12
        draw.ellipse([sx - sr, sy - sr, sx + sr, sy + sr], fill=(255, 221, 87))
    if scene.weather in ("rain", "storm", "fog") or (
        scene.weather == "clear" and rng.random() < 0.5
    ):
        grey = scene.weather in ("rain", "storm")
        for _ in range(3 if grey else 2):
            cx, cy = rng.randint(0, w), rng.randint(h // 12, max(horizon // 2, h // 12 + 1))
            cloud = (120, 125, 140) if grey else (255, 255, 255)
            for dx, r in ((-30, 22), (0, 32), (32, 24)):
                s = w / 800
                draw.ellipse(
                    [cx + dx * s - r * s, cy - r * s, cx + dx * s + r * s, cy + r * s], fill=cloud
                )


def _weather(image: Image.Image, scene: Scene, rng: random.Random) -> Image.Image:
    w, h = image.size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    if scene.weather in ("rain", "storm"):
        for _ in range(160):
            x, y = rng.randint(0, w), rng.randint(0, h)
            draw.line([(x, y), (x - 4, y + h // 40)], fill=(200, 220, 255, 170), width=1)
        if scene.weather == "storm":
            x = rng.randint(w // 4, w * 3 // 4)
            points = [(x, 0)]
            for step in range(1, 5):
                points.append((x + rng.randint(-w // 20, w // 20), step * h // 10))
            draw.line(points, fill=(255, 250, 200, 230), width=3)
    elif scene.weather == "snow":
        for _ in range(140):
            x, y, r = rng.randint(0, w), rng.randint(0, h), rng.choice((1, 2, 3))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, 220))
    elif scene.weather == "fog":
        for i in range(4):
            y = h // 3 + i * h // 8
            draw.rectangle([0, y, w, y + h // 12], fill=(240, 244, 248, 90))
    elif scene.setting == "underwater":
        for _ in range(30):
            x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(2, 7)
            draw.ellipse([x - r, y - r, x + r, y + r], outline=(220, 240, 255, 200), width=1)
    elif scene.mood == "magical":
        for _ in range(40):
            x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(1, 3)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 240, 150, 220))
    return Image.alpha_composite(image, overlay)


def _figure(
    draw: ImageDraw.ImageDraw, name: str, x: int, ground: int, size: int, color: RGB, skin: RGB
) -> None:
    head = size // 6
    body_top = ground - size + head * 2
    limb = max(size // 30, 2)
    draw.line(
        [(x - head // 2, ground - size // 3), (x - head, ground)], fill=(40, 40, 60), width=limb
    )
    draw.line(
        [(x + head // 2, ground - size // 3), (x + head, ground)], fill=(40, 40, 60), width=limb
    )
    draw.polygon(
        [
            (x, body_top),
            (x - head * 3 // 2, ground - size // 3),
            (x + head * 3 // 2, ground - size // 3),
        ],
        fill=color,
    )
    draw.line(
        [(x - head // 2, body_top + head), (x - head * 2, body_top + head * 2)],
        fill=skin,
        width=limb,
    )
    draw.line(
        [(x + head // 2, body_top + head), (x + head * 2, body_top + head // 2)],
        fill=skin,
        width=limb,
    )
    draw.ellipse([x - head, body_top - head * 2, x + head, body_top], fill=skin)
    eye = max(head // 6, 1)
    for ex in (x - head // 3, x + head // 3):
        draw.ellipse(
            [ex - eye, body_top - head * 5 // 4 - eye, ex + eye, body_top - head * 5 // 4 + eye],
            fill=(30, 30, 30),
        )
    draw.arc(
        [x - head // 2, body_top - head, x + head // 2, body_top - head // 3],
        20,
        160,
        fill=(120, 40, 40),
        width=max(limb // 2, 1),
    )
    font = _font(max(size // 7, 10))
    draw.text(
        (x, body_top - head * 2 - 4),
        name,
        font=font,
        fill=(255, 255, 255),
        anchor="md",
        stroke_width=2,
        stroke_fill=(30, 30, 50),
    )


def _caption(image: Image.Image, caption: str) -> Image.Image:
    w, h = image.size
    size = max(h // 26, 10)
    font = _font(size)
    chars_per_line = max(int(w / (size * 0.55)), 10)
    lines = textwrap.wrap(caption, width=chars_per_line)[:3]
    if not lines:
        return image
    band = size * (len(lines) + 1) + size // 2
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle([0, h - band, w, h], fill=(10, 15, 30, 170))
    for i, line in enumerate(lines):
        draw.text(
            (w // 2, h - band + size * 3 // 4 + i * size * 5 // 4),
            line,
            font=font,
            fill=(255, 255, 255, 255),
            anchor="mt",
        )
    return Image.alpha_composite(image, overlay)


def draw_illustration(
    prompt: str, *, caption: str = "", width: int = 1024, height: int = 576
) -> bytes:
    """A PNG of ``width`` x ``height`` picturing ``prompt``; same input, same bytes."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"illustration sides must be between {MIN_SIDE} and {MAX_SIDE} pixels")
    scene = read_scene(prompt)
    seed = story_seed(["illustration", prompt, caption, f"{width}x{height}"])
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose: same prompt, same picture
    image = Image.new("RGBA", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = height * 2 // 3 if scene.setting != "underwater" else height * 5 // 6
    top, bottom = _sky(scene)
    _gradient(draw, (0, 0, width, horizon), _hex(top), _hex(bottom))
    _sky_objects(draw, scene, rng, width, height, horizon)
    _landscape(draw, scene, rng, width, height, horizon)
    palette = MOOD_PALETTES[scene.mood]
    names = extract_characters([prompt], limit=3)
    if names:
        spacing = width // (len(names) + 1)
        size = height // 3
        for i, name in enumerate(names):
            _figure(
                draw,
                name,
                spacing * (i + 1),
                horizon + (height - horizon) // 2,
                size,
                _hex(palette[i % len(palette)]),
                _hex(SKIN_TONES[story_seed([name]) % len(SKIN_TONES)]),
            )
    image = _weather(image, scene, rng)
    image = _caption(image, caption.strip())
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()
