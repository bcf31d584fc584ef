"""Geometry for server-rendered SVG charts (drawn by templates): no JavaScript, crisp on an iPad
at any zoom, readable without colour (every bar carries its number)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    href: str = ""


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    baseline: float


def bars(
    items: list[tuple[str, int, str]], *, width: int = 640, height: int = 220, gap: float = 0.25
) -> Chart:
    """Vertical bars for (label, value, link) items, scaled to the largest value."""
    top, bottom = 24.0, 36.0  # room for the numbers above and the labels below
    usable = height - top - bottom
    peak = max((v for _, v, _ in items), default=0) or 1
    slot = width / max(len(items), 1)
    found = []
    for index, (label, value, href) in enumerate(items):
        h = usable * value / peak
        found.append(
            Bar(
                x=index * slot + slot * gap / 2,
                y=top + usable - h,
                width=slot * (1 - gap),
                height=h,
                label=label,
                value=value,
                href=href,
            )
        )
    return Chart(width=width, height=height, bars=found, baseline=top + usable)
