"""Draw the app icons (run once; the PNGs are committed as ordinary assets).

.venv/bin/python pwa/tools/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
RED = (143, 29, 29, 255)
GOLD = (240, 196, 70, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int, *, safe_zone: float) -> Image.Image:
    """A document with a folded corner and a signature tick on the office red."""
    image = Image.new("RGBA", (size, size), RED)
    d = ImageDraw.Draw(image)
    inner = size * safe_zone
    left = (size - inner * 0.62) / 2
    top = (size - inner * 0.78) / 2
    right, bottom = size - left, size - top
    fold = inner * 0.16
    d.polygon(
        [(left, top), (right - fold, top), (right, top + fold), (right, bottom), (left, bottom)],
        fill=WHITE,
    )
    d.polygon([(right - fold, top), (right - fold, top + fold), (right, top + fold)], fill=GOLD)
    line = max(2, int(size * 0.025))
    for i in range(3):
        y = top + inner * (0.2 + 0.11 * i)
        d.line([(left + inner * 0.08, y), (right - inner * 0.1, y)], fill=RED, width=line)
    tick = [
        (left + inner * 0.14, top + inner * 0.58),
        (left + inner * 0.26, top + inner * 0.68),
        (left + inner * 0.48, top + inner * 0.46),
    ]
    d.line(tick, fill=GOLD, width=line * 2, joint="curve")
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, safe_zone=0.9).save(OUT / "icon-192.png", optimize=True)
    draw(512, safe_zone=0.9).save(OUT / "icon-512.png", optimize=True)
    # Maskable: keep the motif inside the 80 % safe zone.
    draw(512, safe_zone=0.7).save(OUT / "maskable-512.png", optimize=True)
    draw(180, safe_zone=0.85).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
