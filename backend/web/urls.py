"""Paths from route names, for everything that names a page without a request: templates
(macros imported without the page's context), push notices, `eoffice worker`."""

from __future__ import annotations

from typing import Any

from starlette.routing import NoMatchFound, Route, Router

from backend.core.urls import UrlFor


def paths(router: Router) -> UrlFor:
    """Route name and parameters → its path. A path, not Starlette's absolute URL: the service
    worker and its caches key on paths, and a page must not name the host it happened to be
    reached by.

    A list page names a route for every row, and `Router.url_path_for` tries each of the ~90
    routes in turn (an exception per miss), so the routes are looked up by name once here."""
    by_name: dict[str, list[Route]] = {}
    for route in router.routes:
        if isinstance(route, Route):
            by_name.setdefault(route.name, []).append(route)

    def url_for(name: str, /, **params: Any) -> str:
        for route in by_name.get(name, ()):
            try:
                return str(route.url_path_for(name, **params))
            except NoMatchFound:
                continue
        return str(router.url_path_for(name, **params))  # mounts, or a clear NoMatchFound

    return url_for
