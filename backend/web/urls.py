"""Paths from route names, for everything that names a page without a request: templates
(macros imported without the page's context), push notices sent by a job, `eoffice worker`."""

from __future__ import annotations

from typing import Any

from starlette.routing import Router

from backend.core.urls import UrlFor


def paths(router: Router) -> UrlFor:
    """Route name and parameters → its path. A path, not Starlette's absolute URL: the service
    worker and its caches key on paths, and a page must not name the host it happened to be
    reached by."""

    def url_for(name: str, /, **params: Any) -> str:
        return str(router.url_path_for(name, **params))

    return url_for
