"""Configuration of the axis simulator: the systems it knows, their agencies, its directory."""

from __future__ import annotations

import json
import secrets as random_secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "DEMO_NEIGHBOUR",
    "DEMO_NEIGHBOUR_SYSTEM_ID",
    "DEMO_SYSTEM_ID",
    "AxisSimConfig",
    "DirectorySeed",
    "demo_config",
    "load_config",
]

DEFAULT_BASE_PATH = "/XrdAdapter/adapter"
DEMO_SYSTEM_ID = "00.99.W00"
# A second fictional province on its own system, so that the demo has someone to write to.
DEMO_NEIGHBOUR_SYSTEM_ID = "00.98.W00"
DEMO_NEIGHBOUR = [
    ("000.00.00.H98", "Ủy ban nhân dân tỉnh Sông Đà (DEMO)", None),
    ("000.00.01.H98", "Văn phòng Ủy ban nhân dân tỉnh Sông Đà (DEMO)", "000.00.00.H98"),
    ("000.00.11.H98", "Sở Tài chính tỉnh Sông Đà (DEMO)", "000.00.00.H98"),
]


@dataclass(frozen=True, slots=True)
class DirectorySeed:
    """A directory row given by configuration; `parent` is the parent's code."""

    code: str
    name: str
    parent: str | None = None
    mail: str = ""


@dataclass(frozen=True, slots=True)
class AxisSimConfig:
    """Everything the simulator needs; build it directly in tests.

    Attributes:
        systems: system id (mã trung tâm, `00.53.W00`) → its secret.
        registered: system id → the agency codes registered under it at start (more can be
            added with registerAgency). A code belongs to one system.
        directory: directory rows besides the generated ones; they replace a generated row
            with the same code. Registered codes missing here get a row named by their code.
        base_path: where the API lives (`<base_path>/sendEdoc`…).
        directory_size: rows of `generate_directory(directory_size, directory_seed)` to add.
        directory_seed: the generator's seed.
        strict_hash_file: `hash-file` must be present and in the SDK's unpadded hex; when
            False, a padded hex digest or no hash at all is accepted too.
        hooks: serve the fault and inspection hooks under `/_sim/`.
        max_packet_bytes: larger uploads are refused.
    """

    systems: Mapping[str, str]
    registered: Mapping[str, Sequence[str]] = field(default_factory=dict)
    directory: Sequence[DirectorySeed] = ()
    base_path: str = DEFAULT_BASE_PATH
    directory_size: int = 0
    directory_seed: int = 0
    strict_hash_file: bool = True
    hooks: bool = True
    max_packet_bytes: int = 50 * 1024 * 1024

    def __post_init__(self) -> None:
        owners: dict[str, str] = {}
        for system_id, codes in self.registered.items():
            if system_id not in self.systems:
                raise ValueError(f"agencies registered under unknown system {system_id!r}")
            for code in codes:
                if owners.setdefault(code, system_id) != system_id:
                    raise ValueError(f"{code!r} is registered under two systems")
        if not self.base_path.startswith("/") or self.base_path.endswith("/"):
            raise ValueError("base_path must start with '/' and not end with one")


def demo_config(
    province: Sequence[tuple[str, str, str | None]],
    *,
    secrets: Mapping[str, str] | None = None,
    **overrides: Any,
) -> AxisSimConfig:
    """The demo province on system `00.99.W00` and a neighbouring demo province on `00.98.W00`.

    Args:
        province: the demo province's agencies as (code, name, parent code); the caller passes
            `backend.demo.province`'s list (the simulator does not import the app).
        secrets: system id → secret; missing ones are generated for this run only. The
            `eoffice axis-sim` command keeps them in the data directory.
        overrides: other `AxisSimConfig` fields.
    """
    secrets = secrets or {}
    systems = {
        system_id: secrets.get(system_id) or random_secrets.token_urlsafe(32)
        for system_id in (DEMO_SYSTEM_ID, DEMO_NEIGHBOUR_SYSTEM_ID)
    }
    rows = [*province, *DEMO_NEIGHBOUR]
    config = AxisSimConfig(
        systems=systems,
        registered={
            DEMO_SYSTEM_ID: [code for code, _, _ in province],
            DEMO_NEIGHBOUR_SYSTEM_ID: [code for code, _, _ in DEMO_NEIGHBOUR],
        },
        directory=[DirectorySeed(code, name, parent) for code, name, parent in rows],
    )
    return replace(config, **overrides)


def load_config(path: Path) -> AxisSimConfig:
    """Read a JSON configuration file (the `--config` of `eoffice axis-sim`)::

        {"systems": {"00.53.W00": "secret"},
         "registered": {"00.53.W00": ["000.00.01.H53"]},
         "directory": [{"code": "000.00.01.H53", "name": "Văn phòng UBND tỉnh Tây Ninh",
                        "parent": "000.00.00.H53", "mail": ""}],
         "base_path": "/XrdAdapter/adapter", "directory_size": 0, "directory_seed": 0,
         "strict_hash_file": true, "hooks": true}

    Raises:
        ValueError: the file is not such an object.
    """
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("systems"), dict):
        raise ValueError(f"{path}: expected a JSON object with a 'systems' object")
    directory = [
        DirectorySeed(
            code=str(row["code"]),
            name=str(row["name"]),
            parent=str(row["parent"]) if row.get("parent") else None,
            mail=str(row.get("mail", "")),
        )
        for row in raw.get("directory", [])
    ]
    known = {name for name in AxisSimConfig.__dataclass_fields__ if name != "directory"}
    unknown = set(raw) - known - {"directory"}
    if unknown:
        raise ValueError(f"{path}: unknown settings {sorted(unknown)}")
    values = {name: raw[name] for name in known if name in raw}
    return AxisSimConfig(directory=directory, **values)
