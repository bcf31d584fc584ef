from __future__ import annotations

import re

from babel.messages.extract import extract_from_dir

from backend.core.i18n import Translations, pick_language
from backend.web.templating import PWA_LOCALE, PWA_TEMPLATES

VIETNAMESE_LETTERS = re.compile(
    r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I
)


def template_messages() -> set[str]:
    found = extract_from_dir(
        str(PWA_TEMPLATES),
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"encoding": "utf-8"}},
    )
    return {
        message for _file, _line, message, _comments, _context in found if isinstance(message, str)
    }


def test_every_template_message_has_a_vietnamese_translation() -> None:
    messages = template_messages()
    assert len(messages) > 10
    catalog = Translations(PWA_LOCALE).catalogs["vi"]
    missing = sorted(m for m in messages if not catalog.get(m))
    assert missing == []


def test_vietnamese_catalog_is_really_vietnamese() -> None:
    catalog = Translations(PWA_LOCALE).catalogs["vi"]
    long_entries = [text for text in catalog.values() if len(text.split()) >= 3]
    assert long_entries
    assert all(VIETNAMESE_LETTERS.search(text) for text in long_entries)


def test_no_unused_entries_linger() -> None:
    catalog = Translations(PWA_LOCALE).catalogs["vi"]
    assert set(catalog) <= template_messages()


def test_language_choice() -> None:
    assert pick_language(None, "en-US,en;q=0.9", "vi") == "vi"
    assert pick_language("en", None, "vi") == "en"
    assert pick_language("fr", None, "vi") == "vi"
