"""URLs by name: the templates and the scripts name routes (`url_for`), never spell their paths.

A path written by hand breaks silently when a route moves, so any quoted string in a template or
in pwa/static/*.js that starts with "/" and fits a route's path is refused, unless listed below
with its reason. And a `url_for` in a template must name a route with the parameters it takes:
otherwise the mistake surfaces only when a browser renders that page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes
from starlette.routing import BaseRoute, Mount, NoMatchFound, Route, Router

from backend.core.settings import Settings
from backend.web.routes import build
from backend.web.templating import PWA_TEMPLATES
from backend.web.urls import paths

PWA = PWA_TEMPLATES.parent
# (file, literal): why this one is not a route's path.
ALLOWED: dict[tuple[str, str], str] = {
    ("static/app.js", "/"): "the base64url alphabet ('_' → '/'), not a path",
    ("static/webauthn.js", "/"): "the base64url alphabet ('_' → '/'), not a path",
    ("templates/sw.js", "/"): "the shape of a local path (startsWith '/'), not the home route",
}
QUOTED = re.compile(r"""(["'`])(/[^"'`\n]*)\1""")
JINJA = re.compile(r"\{\{.*?\}\}")


def _routes() -> list[BaseRoute]:
    return build(Settings(demo=True))


def _sources(root: Path = PWA) -> Iterator[Path]:
    yield from sorted((root / "templates").rglob("*.html"))
    yield root / "templates" / "sw.js"
    yield from sorted((root / "static").glob("*.js"))


def _literals(line: str) -> Iterator[str]:
    """Quoted strings starting with "/", inside Jinja expressions and around them (each
    expression standing for one value, "0", so that a quote within it does not end the string)."""
    for expression in JINJA.findall(line):
        yield from (m.group(2) for m in QUOTED.finditer(expression))
    yield from (m.group(2) for m in QUOTED.finditer(JINJA.sub("0", line)))


def _fits(literal: str, template: str) -> bool:
    """Could `literal` be the path `template`, or its start up to a "/"?"""
    path = re.split(r"[?#]", literal)[0]
    given, wanted = path.split("/")[1:], template.split("/")[1:]
    if len(given) > len(wanted):
        return False
    for i, (g, w) in enumerate(zip(given, wanted, strict=False)):
        last = i == len(given) - 1
        if "{" in w or g == w or (last and g == ""):
            continue
        return False
    return True


def hard_coded_paths(root: Path = PWA) -> list[str]:
    templates = [r.path for r in _routes() if isinstance(r, Route | Mount)]
    found = []
    for source in _sources(root):
        name = source.relative_to(root).as_posix()
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            for literal in _literals(line):
                if (name, literal) in ALLOWED:
                    continue
                if any(_fits(literal, t) for t in templates):
                    found.append(f"{name}:{number}: {literal}")
    return found


def _url_for_calls(source: str) -> Iterator[tuple[str, set[str], int]]:
    tree = jinja2.Environment().parse(source)
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "url_for":
            first = call.args[0] if call.args else None
            name = first.value if isinstance(first, nodes.Const) else "<not a literal name>"
            yield str(name), {k.key for k in call.kwargs}, call.lineno


def unknown_url_names(root: Path = PWA) -> list[str]:
    params: dict[str, set[str]] = {}
    for r in _routes():
        if isinstance(r, Route | Mount) and r.name:
            params[r.name] = set(r.param_convertors)
    found = []
    for source in [*(root / "templates").rglob("*.html"), root / "templates" / "sw.js"]:
        name = source.relative_to(root).as_posix()
        for route_name, given, line in _url_for_calls(source.read_text()):
            if route_name not in params:
                found.append(f"{name}:{line}: no route named {route_name!r}")
            elif given != params[route_name]:
                wanted = sorted(params[route_name])
                found.append(f"{name}:{line}: {route_name!r} takes {wanted}, given {sorted(given)}")
    return found


def test_templates_and_scripts_name_routes_instead_of_writing_paths() -> None:
    assert hard_coded_paths() == []


def test_every_url_for_in_the_templates_names_a_route_with_its_parameters() -> None:
    assert unknown_url_names() == []


def test_the_checks_see_what_they_are_for(tmp_path: Path) -> None:
    (tmp_path / "templates" / "documents").mkdir(parents=True)
    (tmp_path / "static").mkdir()
    (tmp_path / "templates" / "sw.js").write_text("const HOME = \"{{ url_for('home') }}\";\n")
    (tmp_path / "templates" / "documents" / "x.html").write_text(
        '<a href="/documents/{{ d.id }}">{{ url_for("documnet", document_id=1) }}</a>\n'
        "{{ url_for('document') }} {{ url_for('sign_status', tx_id=t) }}\n"
    )
    (tmp_path / "static" / "x.js").write_text(
        'fetch("/sign/transactions/" + tx + "/cancel"); var b64 = "/"; var key = "/__offline/x";\n'
    )
    assert hard_coded_paths(tmp_path) == [
        "templates/documents/x.html:1: /documents/0",
        "static/x.js:1: /sign/transactions/",
        "static/x.js:1: /",
    ]
    assert unknown_url_names(tmp_path) == [
        "templates/documents/x.html:1: no route named 'documnet'",
        "templates/documents/x.html:2: 'document' takes ['document_id'], given []",
    ]


def test_paths_by_name_agree_with_the_router_for_every_route() -> None:
    """`web.urls.paths` looks routes up by name (the router's own lookup tries every route);
    both must give the same path for each route."""
    router = Router(build(Settings(demo=True)))
    url_for = paths(router)
    samples = {"integer": 7, "string": "abc", "path": "a/b.css"}
    checked = 0
    for route in router.routes:
        if not isinstance(route, Route):
            continue
        params = {
            name: samples.get(type(convertor).__name__.removesuffix("Convertor").lower(), "x")
            for name, convertor in route.param_convertors.items()
        }
        assert url_for(route.name, **params) == router.url_path_for(route.name, **params)
        checked += 1
    assert checked > 80
    with pytest.raises(NoMatchFound):
        url_for("no_such_route")
