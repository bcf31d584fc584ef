"""The generated directory: QCVN 102 codes in a consistent pid tree, Vietnamese names,
deterministic, and fast enough for the 123,000 rows a benchmark syncs."""

from __future__ import annotations

import functools
import re
import time
import unicodedata

import pytest

from backend.axis_sim import DirectoryEntry, generate_directory
from backend.axis_sim.directory import level_of, qd20_code

CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}$")
BENCHMARK_SIZE = 123_000


@functools.cache
def big() -> tuple[list[DirectoryEntry], float]:
    started = time.perf_counter()
    rows = generate_directory(BENCHMARK_SIZE)
    return rows, time.perf_counter() - started


def test_a_benchmark_sized_directory_is_generated_in_a_few_seconds() -> None:
    rows, seconds = big()
    assert len(rows) == BENCHMARK_SIZE
    assert seconds < 20, seconds  # about 2 s unloaded; generous for a busy 2-core machine


def test_codes_are_unique_qcvn_102_codes_and_the_tree_is_consistent() -> None:
    rows, _ = big()
    assert all(CODE.match(row.code) for row in rows)
    assert len({row.code for row in rows}) == len(rows)
    assert [row.id for row in rows] == list(range(1, len(rows) + 1))
    by_id = {row.id: row for row in rows}
    for row in rows:
        if row.pid == 0:
            assert level_of(row.code) == 1
            continue
        parent = by_id[row.pid]
        assert parent.id < row.id  # parents first
        assert level_of(row.code) == level_of(parent.code) + 1
        assert row.code[-3:] == parent.code[-3:]  # same ministry or province
        # The child keeps its parent's groups and fills the next one.
        child_groups, parent_groups = row.code.split("."), parent.code.split(".")
        level = level_of(row.code)
        assert child_groups[4 - level + 1 :] == parent_groups[4 - level + 1 :]
    levels = {level_of(row.code) for row in rows}
    assert levels == {1, 2, 3, 4}
    assert not any(row.code.endswith(("H98", "H99")) for row in rows)  # the demo's blocks


def test_names_are_vietnamese_with_diacritics_in_nfc() -> None:
    rows, _ = big()
    names = {row.code: row.name for row in rows}
    assert names["000.00.00.G22"] == "Văn phòng Chính phủ"
    assert names["000.00.00.H41"] == "Ủy ban nhân dân tỉnh Nghệ An"
    assert names["000.00.00.H24"] == "Ủy ban nhân dân thành phố Hà Nội"
    assert names["000.00.01.H53"] == "Văn phòng Ủy ban nhân dân tỉnh Tây Ninh"
    assert all(unicodedata.is_normalized("NFC", row.name) for row in rows)
    assert sum(not row.name.isascii() for row in rows) > 0.9 * len(rows)
    communes = [row.name for row in rows if level_of(row.code) == 3 and "Ủy ban" in row.name]
    assert any(" xã " in name for name in communes) and any(" phường " in name for name in communes)


def test_the_generator_is_deterministic_and_a_smaller_count_is_a_prefix() -> None:
    rows, _ = big()
    assert generate_directory(2_000) == rows[:2_000]
    assert generate_directory(2_000, seed=7) == generate_directory(2_000, seed=7)
    assert generate_directory(2_000, seed=7) != rows[:2_000]
    assert generate_directory(0) == []


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        generate_directory(-1)


@pytest.mark.parametrize(
    ("code", "level", "qd20"),
    [
        ("000.00.00.H53", 1, "H53"),
        ("000.00.01.H53", 2, "H53.01"),
        ("000.20.31.H53", 3, "H53.31.20"),
        ("007.20.31.H53", 4, "H53.31.20.007"),
        ("vxp.saas.03", 0, "vxp.saas.03"),
    ],
)
def test_code_levels(code: str, level: int, qd20: str) -> None:
    assert level_of(code) == level
    assert qd20_code(code) == qd20
