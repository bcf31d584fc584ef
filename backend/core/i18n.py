"""Vietnamese first, English available: gettext catalogs read from pwa/locale at start-up.

Message ids are English; `pwa/locale/vi/LC_MESSAGES/messages.po` holds the Vietnamese. The
catalogs are read with Babel directly (no compiled .mo files to forget to build); a test checks
that every message used in templates and code has a Vietnamese translation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
LANGUAGE_COOKIE = "lang"


class Translations:
    def __init__(self, locale_dir: Path) -> None:
        self.catalogs: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            path = locale_dir / lang / "LC_MESSAGES" / "messages.po"
            if not path.exists():
                self.catalogs[lang] = {}
                continue
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
            self.catalogs[lang] = {
                str(message.id): str(message.string)
                for message in catalog
                if message.id and message.string and not message.fuzzy
            }

    def gettext(self, lang: str, message: str, **params: Any) -> str:
        text = self.catalogs.get(lang, {}).get(message, message)
        return text % params if params else text


def pick_language(cookie: str | None, accept_language: str | None, default: str) -> str:
    """An explicit choice (cookie) wins; otherwise the configured default.

    Accept-Language is deliberately not consulted: officials' iPads are often set to English
    while the office works in Vietnamese, and the customer asked for Vietnamese first.
    """
    del accept_language
    if cookie in LANGUAGES:
        return cookie
    return default
