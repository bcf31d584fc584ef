from __future__ import annotations

from starlette.routing import Route

from backend.routes import PUBLIC, build
from backend.settings import Settings


def test_every_route_is_named_and_declares_who_may_use_it() -> None:
    for demo in (False, True):
        for r in build(Settings(secret_key="s", demo=demo)):
            assert isinstance(r, Route)
            assert r.name, r.path
            assert getattr(r, "access", None) in {PUBLIC}, f"{r.path} declares no access"
