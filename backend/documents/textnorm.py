"""Diacritics-insensitive text for search: "Quyết định" and "quyet dinh" fold to the same words."""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (đ → d, marks removed)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SEPARATORS.sub(" ", stripped.lower()).strip()
