"""The recipient picker's index of the agency directory, held in each server process.

Why in process, not in SQL: measured at 123,000 agencies (bench/bench_directory.py), a scan of
`search_key` with LIKE took 60–90 ms on SQLite and 40–60 ms on PostgreSQL per query; a trigram
GIN index made PostgreSQL fast for rare words but its planner, choosing between the index and
the `ORDER BY length(name)` scan, took 195 ms on "xa phuong" (two common words that never meet),
and the ranking (exact code, code prefix, word prefixes, substrings, the sender's province,
short names) needs every match sorted before the first twenty are known. Here a query costs a
few set operations on posting lists in C, the same on both databases: one to a few ms, 15 ms
for the densest two-letter prefixes.

Layout: every visible agency has a position, its rank when nothing else decides (shorter names
first, then the name, then the id). A word of any `search_key` maps to the positions of the
agencies that have it (`array('i')`, ascending); the sorted word list gives the words a token
is a prefix of (bisect) or, for substrings, a scan of one string of all words. Codes (both codes
of a QĐ 20 pair) are a sorted list for exact and prefix matches. About 15 MB for 123,000
agencies; built in well under two seconds.

Freshness: `version` is (the highest agency id, the highest audit id of a directory change).
`directory.sync` records an audit entry whenever it changes anything and new hosted agencies
get new ids, so every process sees a change at its next search and rebuilds once. A change
made outside those two paths (SQL by hand) shows after a restart.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from backend.documents.textnorm import fold

# Words of the name (and their abbreviations) come before the separator, codes after it.
SEPARATOR = " | "
SEARCH_KEY_LENGTH = 512
# Folded phrase ↔ the abbreviation officials type: either form in a name makes both findable
# ("ubnd xa an phu" finds "Ủy ban nhân dân xã An Phú", "uy ban" finds "UBND xã An Phú").
ABBREVIATIONS = {
    "uy ban nhan dan": "ubnd",
    "hoi dong nhan dan": "hdnd",
    "van phong": "vp",
    "thanh pho": "tp",
    "thi xa": "tx",
    "trung hoc co so": "thcs",
    "trung hoc pho thong": "thpt",
    "mat tran to quoc": "mttq",
    "ban quan ly": "bql",
}
# Substring matches (inside words) only for fragments this long: shorter ones match almost
# every agency and only word starts are useful.
SUBSTRING_MIN = 3
# Prefix-matching queries shorter than this match most of the directory: nothing to choose from.
QUERY_MIN = 2
FIRST = "^"
HIGH = "\uffff"
# Code prefixes looked at for the sender's province ("000.00.32" has one per province).
CODE_SCAN = 2000


def fold_words(text: str) -> list[str]:
    """`textnorm.fold(text).split()`, five times faster on names: each distinct word is folded
    once (a directory has a few thousand of them)."""
    folded: list[str] = []
    for word in text.split():
        done = _FOLDED.get(word)
        if done is None:
            if len(_FOLDED) >= _FOLDED_MAX:
                _FOLDED.clear()
            done = _FOLDED[word] = fold(word).split()  # "TP.HCM" is two words
        folded += done
    return folded


_FOLDED: dict[str, list[str]] = {}
_FOLDED_MAX = 200_000
_PHRASES = [(phrase.split(), phrase, short) for phrase, short in ABBREVIATIONS.items()]


def search_key(name: str, code: str, other_code: str = "") -> str:
    """What the picker searches: folded name words, abbreviations, initials; then the codes.

    "Sở Tài chính tỉnh Tây Ninh" → "so tai chinh tinh tay ninh stcttn | 000.00.11.h53".
    """
    words = fold_words(name)
    present = set(words)
    text = " ".join(words)
    padded = f" {text} "
    extra: list[str] = []
    for phrase_words, phrase, short in _PHRASES:
        if phrase_words[0] in present and f" {phrase} " in padded:
            extra.append(short)
        if short in present:
            extra += phrase_words
    if words:
        extra.append("".join([w[0] for w in words]))
        if "va" in present:
            # "Sở Kế hoạch và Đầu tư": SKHVĐT, and the SKHĐT people write.
            extra.append("".join([w[0] for w in words if w != "va"]))
    codes = f"{code} {other_code}".strip().lower()
    return f"{text} {' '.join(extra)}{SEPARATOR}{codes}"[:SEARCH_KEY_LENGTH]


def key_words(key: str) -> list[str]:
    return key.split(SEPARATOR, 1)[0].split()


@dataclass(frozen=True)
class IndexRow:
    """One visible agency as the index reads it."""

    id: int
    code: str
    other_code: str
    name: str
    search_key: str
    province: str  # the level-1 block of its code ("H53"), "" when it has none


class DirectoryIndex:
    """An immutable snapshot; `search` answers agency ids, best first; `roots` names the
    level-1 agencies by code (what tells a "UBND xã An Hòa" of one province from another's)."""

    def __init__(self, rows: Iterable[IndexRow], *, version: tuple[int, int]) -> None:
        self.version = version
        ordered = sorted(rows, key=lambda r: (len(r.name), r.name, r.id))
        self.size = len(ordered)
        # Names of the level-1 agencies ("000.00.00.H53", "H37"): the context of the others.
        self.roots = {
            r.code: r.name
            for r in ordered
            if r.province and r.code in (f"000.00.00.{r.province}", r.province)
        }
        self._ids = array("i", (r.id for r in ordered))
        blocks = sorted({r.province for r in ordered})
        self._province_number = {block: n for n, block in enumerate(blocks)}
        self._province = array("H", (self._province_number[r.province] for r in ordered))
        postings: dict[str, array[int]] = {}
        codes: list[tuple[str, int]] = []
        for position, row in enumerate(ordered):
            words = key_words(row.search_key or search_key(row.name, row.code))
            # "^bo": the name's first word, for names that start as the query does.
            for word in {*words, FIRST + words[0]} if words else ():
                found = postings.get(word)
                if found is None:
                    postings[word] = array("i", (position,))
                else:
                    found.append(position)
            codes.append((row.code, position))
            if row.other_code:
                codes.append((row.other_code, position))
        self._words = sorted(postings)
        self._postings = [postings[w] for w in self._words]
        # All words in one string, each after a newline: a substring is found by str.find.
        self._word_text = "".join("\n" + w for w in self._words)
        self._word_starts = array("i")
        offset = 0
        for word in self._words:
            self._word_starts.append(offset)
            offset += len(word) + 1
        codes.sort()
        self._codes = [c for c, _ in codes]
        self._code_positions = array("i", (p for _, p in codes))

    # --- matching -------------------------------------------------------------------------

    def _prefix_range(self, token: str) -> tuple[int, int]:
        return (
            bisect.bisect_left(self._words, token),
            bisect.bisect_left(self._words, token + HIGH),
        )

    def _prefix_matches(self, token: str) -> set[int]:
        low, high = self._prefix_range(token)
        return set().union(*self._postings[low:high])

    def _substring_matches(self, token: str) -> set[int]:
        found: set[int] = set()
        text, start = self._word_text, self._word_text.find(token)
        while start >= 0:
            word = bisect.bisect_right(self._word_starts, start) - 1
            found.update(self._postings[word])
            # Next word: past this one's end.
            following = self._word_starts[word + 1] if word + 1 < len(self._words) else len(text)
            start = text.find(token, following)
        return found

    def _all_of(self, tokens: Sequence[str], *, substring: bool) -> set[int]:
        def size(token: str) -> int:
            low, high = self._prefix_range(token)
            return sum(len(p) for p in self._postings[low:high])

        match = self._substring_matches if substring else self._prefix_matches
        result: set[int] | None = None
        # The rarest word first: later sets only shrink what is left.
        for token in sorted(set(tokens), key=size):
            found = match(token)
            result = found if result is None else result & found
            if not result:
                return set()
        return result or set()

    def _ranked(self, positions: Iterable[int], *, limit: int, near: int | None) -> list[int]:
        """The best `limit` positions: the sender's province first, then in the given order
        (rank, unless the caller sorted them otherwise)."""
        if near is None:
            return list(positions)[:limit]
        own: list[int] = []
        others: list[int] = []
        province = self._province
        for position in positions:
            if province[position] == near:
                own.append(position)
                if len(own) >= limit:
                    break
            elif len(others) < limit:
                others.append(position)
        return (own + others)[:limit]

    def _codes_from(self, query: str) -> tuple[list[int], list[int]]:
        """Positions whose code is `query`, and (up to CODE_SCAN, by code) that start with it."""
        low = bisect.bisect_left(self._codes, query)
        high = min(bisect.bisect_left(self._codes, query + HIGH, lo=low), low + CODE_SCAN)
        exact = [self._code_positions[i] for i in range(low, high) if self._codes[i] == query]
        prefix = [self._code_positions[i] for i in range(low, high) if self._codes[i] != query]
        return exact, prefix

    def search(self, query: str, *, limit: int, near: str = "") -> list[int]:
        """Agency ids matching `query`, best first. Tiers: exact code; code prefix; every word a
        word start, the first one starting the name ("bo noi vu" → "Bộ Nội vụ"); every word a
        word start; every word inside a word (fragments of three letters or more). Within each
        tier, agencies of the `near` province (a level-1 block such as "H53") come first, then
        shorter names."""
        near_number = self._province_number.get(near) if near else None
        found: list[int] = []
        seen: set[int] = set()

        def take(positions: Iterable[int]) -> None:
            for position in self._ranked(positions, limit=limit - len(found), near=near_number):
                if position not in seen:
                    seen.add(position)
                    found.append(position)

        code = query.strip().upper()
        if looks_like_code(code):
            exact, prefix = self._codes_from(code)
            take(exact)
            take(prefix)
        tokens = fold_words(query)
        if "." in code or not tokens or len("".join(tokens)) < QUERY_MIN:
            return [self._ids[p] for p in found]
        words = self._all_of(tokens, substring=False) - seen
        if words and len(found) < limit:
            starting = words & self._prefix_matches(FIRST + tokens[0])
            take(sorted(starting))
            take(sorted(words - starting))
        if len(found) < limit and min(len(t) for t in tokens) >= SUBSTRING_MIN:
            take(sorted(self._all_of(tokens, substring=True) - seen - words))
        return [self._ids[p] for p in found]


def looks_like_code(text: str) -> bool:
    """ "000.00.32", "H53", "H37.02": digits, letters and dots, at least one digit."""
    return (
        2 <= len(text) <= 13
        and any(c.isdigit() for c in text)
        and all(c.isascii() and (c.isalnum() or c == ".") for c in text)
    )
