"""The simulator's configuration: the JSON file of `--config`, and the demo province."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.axis_sim import (
    DEMO_NEIGHBOUR_SYSTEM_ID,
    DEMO_SYSTEM_ID,
    AxisSimConfig,
    DirectorySeed,
    demo_config,
    load_config,
)
from backend.demo import province


def test_a_config_file_is_read_into_the_dataclass(tmp_path: Path) -> None:
    path = tmp_path / "axis.json"
    path.write_text(
        json.dumps(
            {
                "systems": {"00.53.W00": "s"},
                "registered": {"00.53.W00": ["000.00.01.H53"]},
                "directory": [
                    {"code": "000.00.01.H53", "name": "Văn phòng", "parent": "000.00.00.H53"}
                ],
                "base_path": "/vxp",
                "directory_size": 10,
                "strict_hash_file": False,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert load_config(path) == AxisSimConfig(
        systems={"00.53.W00": "s"},
        registered={"00.53.W00": ["000.00.01.H53"]},
        directory=[DirectorySeed("000.00.01.H53", "Văn phòng", "000.00.00.H53")],
        base_path="/vxp",
        directory_size=10,
        strict_hash_file=False,
    )


@pytest.mark.parametrize(
    "text", ['["not", "an", "object"]', '{"registered": {}}', '{"systems": {}, "typo": 1}']
)
def test_a_bad_config_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "axis.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        load_config(path)


def test_the_demo_registers_the_demo_province_and_a_neighbour() -> None:
    agencies = [(code, name, parent) for code, name, _, parent in province.AGENCIES]
    config = demo_config(agencies, secrets={DEMO_SYSTEM_ID: "ours"}, directory_size=5)
    assert config.registered[DEMO_SYSTEM_ID] == [code for code, *_ in province.AGENCIES]
    assert config.registered[DEMO_NEIGHBOUR_SYSTEM_ID]
    assert config.systems[DEMO_SYSTEM_ID] == "ours"
    assert len(config.systems[DEMO_NEIGHBOUR_SYSTEM_ID]) >= 32  # generated for this run
    assert demo_config(agencies).systems != demo_config(agencies).systems
    assert config.directory_size == 5
    seeds = {seed.code: seed for seed in config.directory}
    assert seeds[province.OFFICE_CODE].parent == province.PROVINCE_CODE
    assert seeds[province.OFFICE_CODE].name == "Văn phòng Ủy ban nhân dân tỉnh Sông Hồng (DEMO)"
