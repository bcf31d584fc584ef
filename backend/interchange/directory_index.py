"""The recipient picker's index of the agency directory, held in each server process.

Why in process, not in SQL: measured at 123,000 agencies (bench/bench_directory.py), a scan of
`search_key` with LIKE took 60–90 ms a query on SQLite and 40–60 ms on PostgreSQL; a trigram
GIN index made PostgreSQL fast for rare words, but its planner, choosing between that index and
an `ORDER BY length(name)` scan, took 195 ms on "xa phuong" (two common words that never meet
in one name); and the ranking (exact code, code prefix, names starting with the query, word
starts, fragments inside words, the sender's province, short names) needs every match before
the first twenty are known. Here the matching takes 0.1–3 ms on either database; a search is
then two small queries (the version, the details of the twenty).

Layout: every visible agency has a position, its rank when nothing else decides (shorter names
first, then the name, then the id). Each word of the `search_key`s maps to the positions of the
agencies that have it (`array('i')`); the sorted word list gives the words a token starts
(bisect), one string of all words the words it is inside (str.find). A set of positions is an
int, bit p for position p: the 137 commonest words ("xa", "truong", "ubnd" …) and each province
keep theirs, so "uy ban nhan dan" is a few ANDs and ORs in C, and the best twenty are the
lowest set bits. Codes (both of a QĐ 20 pair) are a sorted list for exact and prefix matches.
About 17 MB for 123,000 agencies (50 MB while it is built, in 1.5–3 s).

Freshness: `version` is (the highest agency id, the highest audit id of a directory change).
`directory.sync` records an audit entry whenever it changes anything, and new hosted agencies
get new ids, so every process notices a change at its next search and rebuilds in the
background (`directory.REBUILD_WAIT`). A change made outside those two paths (SQL by hand)
shows after a restart.
"""

from __future__ import annotations

import bisect
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

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
# Words in at least this many names also keep their positions as bits (137 words, 2 MB at
# 123,000 agencies, 86 % of all postings): a common word is then an OR, not a loop.
DENSE = 1024
# Token matches kept for the keystrokes that follow ("t", "ta", "tai" …).
CACHED = 256


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


def _rank(row: IndexRow) -> tuple[int, str, int]:
    return len(row.name), row.name, row.id


class IndexRow(NamedTuple):
    """One visible agency as the index reads it (a NamedTuple: 120,000 are made per build)."""

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
        ordered = sorted(rows, key=_rank)
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
        lists: defaultdict[str, list[int]] = defaultdict(list)
        codes: list[tuple[str, int]] = []
        for position, row in enumerate(ordered):
            words = key_words(row.search_key or search_key(row.name, row.code))
            if words:
                # "^bo": the name's first word, for names that start as the query does. A word
                # twice in one name is listed twice: harmless, the matches are sets.
                lists[FIRST + words[0]].append(position)
            for word in words:
                lists[word].append(position)
            codes.append((row.code, position))
            if row.other_code:
                codes.append((row.other_code, position))
        self._words = sorted(lists)
        self._postings = [array("i", lists[w]) for w in self._words]
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
        # Sets of positions as bits of one int: the common words, and each province.
        self._bytes = (self.size + 7) // 8
        self._dense = {
            word: _bits(positions, self._bytes)
            for word, positions in enumerate(self._postings)
            if len(positions) >= DENSE
        }
        by_province: list[list[int]] = [[] for _ in blocks]
        for position, number in enumerate(self._province):
            by_province[number].append(position)
        self._province_bits = [_bits(positions, self._bytes) for positions in by_province]
        self._cache: dict[tuple[str, bool], int] = {}

    # --- matching: sets of positions are ints, bit p for position p -----------------------

    def _prefix_range(self, token: str) -> tuple[int, int]:
        return (
            bisect.bisect_left(self._words, token),
            bisect.bisect_left(self._words, token + HIGH),
        )

    def _union(self, words: Iterable[int]) -> int:
        found, spare = 0, bytearray(self._bytes)
        for word in words:
            dense = self._dense.get(word)
            if dense is not None:
                found |= dense
            else:
                for position in self._postings[word]:
                    spare[position >> 3] |= 1 << (position & 7)
        return found | int.from_bytes(spare, "little")

    def _inside(self, token: str) -> Iterator[int]:
        """The words that contain `token`."""
        text, start = self._word_text, self._word_text.find(token)
        while start >= 0:
            word = bisect.bisect_right(self._word_starts, start) - 1
            yield word
            following = self._word_starts[word + 1] if word + 1 < len(self._words) else len(text)
            start = text.find(token, following)

    def _matches(self, token: str, *, inside: bool = False) -> int:
        """Positions with a word that starts with `token` (or contains it)."""
        found = self._cache.get((token, inside))
        if found is None:
            words = self._inside(token) if inside else range(*self._prefix_range(token))
            found = self._union(words)
            if len(self._cache) >= CACHED:
                self._cache.clear()
            self._cache[(token, inside)] = found
        return found

    def _all_of(self, tokens: Sequence[str], *, inside: bool) -> int:
        result = -1  # every position
        for token in dict.fromkeys(tokens):
            result &= self._matches(token, inside=inside)
            if not result:
                break
        return max(result, 0)

    def _ranked(self, positions: int, *, limit: int, near: int | None) -> list[int]:
        """The best `limit` positions: the sender's province first, then by rank."""
        if near is None:
            return _lowest(positions, limit)
        own = positions & self._province_bits[near]
        first = _lowest(own, limit)
        return first + _lowest(positions & ~own, limit - len(first))

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
        seen = 0

        def take(positions: list[int]) -> None:
            nonlocal seen
            for position in positions[: limit - len(found)]:
                if not seen >> position & 1:
                    seen |= 1 << position
                    found.append(position)

        code = query.strip().upper()
        if looks_like_code(code):
            exact, prefix = self._codes_from(code)
            take(exact)
            if near_number is not None:
                prefix.sort(key=lambda p: self._province[p] != near_number)
            take(prefix)
        tokens = fold_words(query)
        if "." in code or not tokens or len("".join(tokens)) < QUERY_MIN:
            return [self._ids[p] for p in found]
        words = self._all_of(tokens, inside=False) & ~seen
        if words and len(found) < limit:
            starting = words & self._matches(FIRST + tokens[0])
            take(self._ranked(starting, limit=limit, near=near_number))
            take(self._ranked(words & ~starting, limit=limit, near=near_number))
        if len(found) < limit and min(len(t) for t in tokens) >= SUBSTRING_MIN:
            inside = self._all_of(tokens, inside=True) & ~words & ~seen
            take(self._ranked(inside, limit=limit, near=near_number))
        return [self._ids[p] for p in found]


def _bits(positions: Iterable[int], size: int) -> int:
    bits = bytearray(size)
    for position in positions:
        bits[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(bits, "little")


def _lowest(positions: int, count: int) -> list[int]:
    """The `count` lowest positions of a set (the best ranked)."""
    found: list[int] = []
    while positions and len(found) < count:
        low = positions & -positions
        found.append(low.bit_length() - 1)
        positions ^= low
    return found


def looks_like_code(text: str) -> bool:
    """ "000.00.32", "H53", "H37.02": digits, letters and dots, at least one digit."""
    return (
        2 <= len(text) <= 13
        and any(c.isdigit() for c in text)
        and all(c.isascii() and (c.isalnum() or c == ".") for c in text)
    )
