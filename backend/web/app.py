"""The Starlette application, assembled from routes, middleware and exception handlers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware

from backend.core.clock import Clock, SystemClock
from backend.core.i18n import Translations
from backend.core.settings import Settings
from backend.identity.csrf import CsrfMiddleware
from backend.identity.session_middleware import SessionMiddleware
from backend.runtime import background
from backend.runtime.assets import Assets
from backend.runtime.resources import Resources, open_resources
from backend.signing_flow.setup import KeySource
from backend.web import errors_http, routes
from backend.web.middleware import SecurityHeadersMiddleware
from backend.web.templating import PWA_LOCALE, make_templates
from backend.web.urls import paths
from backend.web.views.auth import session_limits

# What `eoffice serve --workers N` gives uvicorn: each worker process imports it and builds its
# own app (uvicorn's multi-process mode takes an import string, not an app object).
APP_FACTORY = "backend.web.app:create_app_from_env"


class State(TypedDict):
    resources: Resources


def _server_to_server(settings: Settings) -> tuple[str, ...]:
    """The demo simulators' protocol endpoints, called by the app's own clients (the SIM-PKI
    client, the axis jobs' VXP client) without a browser's Origin: exempt from CSRF."""
    if not settings.demo:
        return ()
    # The axis simulator is mounted only when no real axis is configured.
    return ("/mssp-sim/rest/",) + (("/axis-sim/XrdAdapter/",) if not settings.axis_url else ())


def create_app(
    settings: Settings, *, clock: Clock | None = None, signing_keys: KeySource | None = None
) -> Starlette:
    translations = Translations(PWA_LOCALE)
    assets = Assets()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with (
            open_resources(
                settings,
                clock=clock or SystemClock(),
                translations=translations,
                assets=assets,
                urls=app.state.urls,
                signing_keys=signing_keys,
            ) as resources,
            contextlib.AsyncExitStack() as stack,
        ):
            if settings.jobs_worker:
                await stack.enter_async_context(background.running(resources))
            yield {"resources": resources}

    app = Starlette(
        routes=routes.build(settings),
        middleware=[
            Middleware(SecurityHeadersMiddleware, https=settings.is_https),
            Middleware(
                CsrfMiddleware,
                origin=settings.origin,
                exempt=_server_to_server(settings),
            ),
            Middleware(
                SessionMiddleware,
                cookie_name=settings.session_cookie,
                limits=session_limits(settings),
            ),
        ],
        exception_handlers=errors_http.handlers(),
        lifespan=lifespan,
    )
    # Route name → path, built once: templates, push notices and handlers share it.
    app.state.urls = paths(app.router)
    app.state.templates = make_templates(
        settings=settings, translations=translations, assets=assets, url_for=app.state.urls
    )
    app.state.settings = settings
    return app


def create_app_from_env() -> Starlette:
    """The app of one worker process, configured from the environment as `eoffice serve` is."""
    return create_app(Settings.from_env())
