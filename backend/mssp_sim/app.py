"""Assemble the MSSP simulator app and run it under uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from backend.mssp_sim import hooks, phone, protocol
from backend.mssp_sim.config import SimConfig, demo_config
from backend.mssp_sim.notify import Notifier
from backend.mssp_sim.state import Sim, sim_of
from backend.mssp_sim.store import SimStore

__all__ = ["create_app", "run"]


async def notification_key(request: Request) -> Response:
    """GET /notification-key.pem — the public key that verifies our notifications."""
    return Response(sim_of(request).notifier.public_key_pem, media_type="application/x-pem-file")


def create_app(config: SimConfig) -> Starlette:
    """Build a fresh simulator: protocol endpoint, virtual phones, and (if enabled) test hooks.

    Args:
        config: the frozen configuration; see :class:`SimConfig`.

    Returns:
        The ASGI app. Its state is ``app.state.sim`` (a :class:`Sim`).
    """
    notifier = Notifier(config)
    sim = Sim(config=config, store=SimStore(config, on_finish=notifier.schedule), notifier=notifier)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await notifier.aclose()

    routes: list[BaseRoute] = [
        Route("/rest/service", protocol.service, methods=["POST"], name="service"),
        Route("/phone.js", phone.phone_js, name="phone_js"),
        Route("/phone.css", phone.phone_css, name="phone_css"),
        Route("/phone/{msisdn}", phone.phone_page, name="phone"),
        Route("/phone/{msisdn}/answer", phone.answer, methods=["POST"], name="phone_answer"),
        Route("/notification-key.pem", notification_key, name="notification_key"),
    ]
    if config.enable_test_hooks:
        routes.extend(hooks.routes)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sim = sim
    return app


def run(
    host: str = "127.0.0.1",
    port: int = 8090,
    *,
    config: SimConfig | None = None,
    log_level: str = "info",
) -> None:
    """Serve the simulator until interrupted (what ``eoffice mssp-sim`` calls).

    Args:
        host: interface to bind.
        port: TCP port.
        config: the configuration; defaults to :func:`demo_config` (two demo SIMs, PIN 1234).
        log_level: uvicorn's log level.
    """
    uvicorn.run(create_app(config or demo_config()), host=host, port=port, log_level=log_level)
