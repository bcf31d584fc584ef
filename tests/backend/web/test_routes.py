from __future__ import annotations

import pytest
from starlette.routing import Mount, Route

from backend.core.settings import Settings
from backend.identity import policy
from backend.web.routes import PUBLIC, build, route


def test_every_route_is_named_and_declares_who_may_use_it() -> None:
    for demo in (False, True):
        for r in build(Settings(demo=demo)):
            if isinstance(r, Mount):  # the demo server's MSSP simulator, demo mode only
                assert demo and r.access == policy.DEMO  # type: ignore[attr-defined]
                continue
            assert isinstance(r, Route)
            assert r.name, r.path
            assert policy.is_known(getattr(r, "access", None)), f"{r.path} declares no access"


def test_a_route_without_a_known_declaration_is_refused() -> None:
    async def endpoint(request: object) -> None:
        raise AssertionError

    with pytest.raises(ValueError, match="unknown access"):
        route("/x", endpoint, name="x", access="whatever")  # type: ignore[arg-type]
    assert route("/x", endpoint, name="x", access=PUBLIC).access == PUBLIC  # type: ignore[arg-type, attr-defined]


def test_demo_routes_exist_only_in_demo_mode() -> None:
    def names(demo: bool) -> set[str]:
        return {r.name for r in build(Settings(demo=demo)) if isinstance(r, Route)}

    assert names(True) - names(False) == {"demo_signin"}
