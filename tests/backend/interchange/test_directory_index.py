"""The picker's index without a database: what a search key holds, how codes are read, how
results rank."""

from __future__ import annotations

import unicodedata

import pytest

from backend.documents.textnorm import fold
from backend.interchange.directory_index import (
    DirectoryIndex,
    IndexRow,
    fold_words,
    looks_like_code,
    search_key,
)
from backend.interchange.directory_sync import (
    code_level,
    is_system_code,
    province_of,
    root_code,
    valid_code,
)

NAMES = [
    "Ủy ban nhân dân tỉnh Tây Ninh",
    "Sở Giáo dục và Đào tạo",
    "Phòng Tài chính - Kế hoạch huyện Đức Hòa",
    "UBND TP.HCM",
    "Trường THCS Nguyễn Du, xã Quỳnh Lưu",
    "ĐẢNG ỦY KHỐI CƠ QUAN",
    "  spaces\tand\nlines  ",
]


@pytest.mark.parametrize("name", NAMES)
def test_folding_word_by_word_is_the_documents_folding(name: str) -> None:
    assert fold_words(name) == fold(name).split()
    # Names typed on a Mac arrive decomposed (NFD): the same words.
    assert fold_words(unicodedata.normalize("NFD", name)) == fold(name).split()


def test_a_search_key_holds_words_abbreviations_initials_and_codes() -> None:
    key = search_key("Ủy ban nhân dân xã An Phú", "000.21.32.H99", "H99.32.21")
    words, codes = key.split(" | ")
    assert words.split() == [
        *["uy", "ban", "nhan", "dan", "xa", "an", "phu"],
        "ubnd",  # the abbreviation people type
        "ubndxap",  # initials
    ]
    assert codes == "000.21.32.h99 h99.32.21"
    # …and the other way round: "uy ban" finds a name written "UBND".
    assert "uy ban nhan dan" in search_key("UBND huyện Bình Minh", "000.00.32.H99")
    # "Sở Kế hoạch và Đầu tư" is SKHĐT to everyone: the initials without "và" too.
    assert {"skhvdt", "skhdt"} <= set(search_key("Sở Kế hoạch và Đầu tư", "X").split())


@pytest.mark.parametrize(
    ("code", "valid", "level", "province"),
    [
        ("000.00.00.H53", True, 1, "H53"),
        ("000.00.01.H53", True, 2, "H53"),
        ("000.00.32.H53", True, 2, "H53"),
        ("000.20.31.H53", True, 3, "H53"),
        ("001.21.32.H99", True, 4, "H99"),
        ("000.00.00.G22", True, 1, "G22"),
        ("H37", True, 1, "H37"),
        ("H37.02", True, 2, "H37"),
        ("H37.02.02", True, 3, "H37"),
        ("H37.02.02.001", True, 4, "H37"),
        ("00.53.W00", True, 1, ""),
        ("14.00.W00", True, 1, ""),
        ("vxp.saas.03", False, None, None),
        ("000.00.1.H53", False, None, None),
        ("000.00.01.53H", False, None, None),
        ("H37.02.02.0001", False, None, None),
        ("", False, None, None),
    ],
)
def test_codes(code: str, valid: bool, level: int | None, province: str | None) -> None:
    assert valid_code(code) is valid
    if valid:
        assert code_level(code) == level
        assert province_of(code) == province


def test_system_codes_and_roots() -> None:
    assert is_system_code("00.53.W00") and not is_system_code("000.00.01.H53")
    assert root_code("000.20.31.H53") == "000.00.00.H53"
    assert root_code("H37.02.02") == "H37"
    assert root_code("00.53.W00") == ""


@pytest.mark.parametrize(
    ("text", "code_like"),
    [("000.00.32", True), ("H53", True), ("h37.02", True), ("STC", False), ("tai chinh", False)],
)
def test_what_looks_like_a_code(text: str, code_like: bool) -> None:
    assert looks_like_code(text.upper()) is code_like


ROWS = [
    (1, "000.00.00.G09", "Bộ Nội vụ"),
    (2, "000.00.12.H53", "Sở Nội vụ tỉnh Tây Ninh"),
    (3, "000.01.12.H53", "Phòng Tổ chức cán bộ - Sở Nội vụ tỉnh Tây Ninh"),
    (4, "000.00.11.H53", "Sở Tài chính tỉnh Tây Ninh"),
    (5, "000.00.11.H37", "Sở Tài chính tỉnh Lạng Sơn"),
    (6, "000.00.00.G12", "Bộ Tài chính"),
    (7, "000.00.32.H53", "UBND huyện Châu Thành"),
    (8, "000.00.32.H37", "UBND huyện Chi Lăng"),
    (9, "000.01.32.H53", "Phòng Tài chính - Kế hoạch huyện Châu Thành"),
    (10, "000.00.00.H53", "Ủy ban nhân dân tỉnh Tây Ninh"),
]


@pytest.fixture(scope="module")
def index() -> DirectoryIndex:
    rows = [
        IndexRow(i, code, "", name, search_key(name, code), province_of(code))
        for i, code, name in ROWS
    ]
    rows.append(IndexRow(11, "H53.11", "000.00.99.H53", "Sở Mới", "", "H53"))  # key built here
    return DirectoryIndex(rows, version=(0, 0))


def test_names_any_case_with_or_without_diacritics(index: DirectoryIndex) -> None:
    assert index.search("so tai chinh", limit=5) == index.search("Sở Tài Chính", limit=5)
    assert set(index.search("so tai chinh", limit=5)) == {4, 5}
    assert index.search("SỞ TÀI CHÍNH tây", limit=5) == [4]


def test_initials_and_abbreviations(index: DirectoryIndex) -> None:
    assert set(index.search("STC", limit=5)) == {4, 5}
    assert index.search("ubnd tinh", limit=5) == [10]
    assert index.search("uy ban huyen chi", limit=5) == [8]


def test_codes_exact_then_by_prefix(index: DirectoryIndex) -> None:
    assert index.search("000.00.32.H53", limit=5) == [7]
    assert index.search("000.00.32", limit=5) == [8, 7]  # by code
    assert index.search("000.00.32", limit=5, near="H53") == [7, 8]  # the sender's first
    assert index.search("000.00.99.h53", limit=5) == [11]  # the other code of a pair
    assert index.search("H53", limit=5) == [11]


def test_names_that_start_as_the_query_does_come_first(index: DirectoryIndex) -> None:
    # "bộ" is also a word of "Phòng Tổ chức cán bộ - Sở Nội vụ", but "Bộ Nội vụ" starts so.
    assert index.search("bo noi vu", limit=5, near="H53") == [1, 3]


def test_the_senders_province_then_shorter_names(index: DirectoryIndex) -> None:
    # Equal lengths ("Lạng Sơn", "Tây Ninh"): by name.
    assert index.search("tai chinh", limit=5) == [6, 5, 4, 9]
    assert index.search("tai chinh", limit=5, near="H53") == [4, 9, 6, 5]
    assert index.search("tai chinh", limit=2, near="H53") == [4, 9]


def test_word_starts_before_fragments_inside_words(index: DirectoryIndex) -> None:
    # "thanh" starts a word of Châu Thành; "hanh" is only inside it (and inside "chinh"? no).
    assert index.search("hanh", limit=5) == [7, 9]
    assert index.search("chau", limit=5) == [7, 9]
    # Fragments shorter than three letters only match word starts.
    assert index.search("an", limit=5) == []
    assert index.search("t", limit=5) == []  # one letter matches nothing at all


def test_nothing_for_nothing(index: DirectoryIndex) -> None:
    assert index.search("", limit=5) == []
    assert index.search("   ", limit=5) == []
    assert index.search("zzz", limit=5) == []
    assert index.roots == {
        "000.00.00.G09": "Bộ Nội vụ",
        "000.00.00.G12": "Bộ Tài chính",
        "000.00.00.H53": "Ủy ban nhân dân tỉnh Tây Ninh",
    }
