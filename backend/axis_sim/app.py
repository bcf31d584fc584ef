"""Assemble the axis simulator app and run it under uvicorn."""

from __future__ import annotations

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from backend.axis_sim import api, hooks
from backend.axis_sim.config import AxisSimConfig
from backend.axis_sim.store import AxisStore

__all__ = ["create_app", "run"]


def create_app(config: AxisSimConfig) -> Starlette:
    """Build a fresh simulator: the VXP API under `config.base_path`, and the `/_sim/` hooks
    when `config.hooks`.

    Args:
        config: the frozen configuration; see :class:`AxisSimConfig`.

    Returns:
        The ASGI app. Its state is ``app.state.axis`` (an :class:`AxisStore`).
    """
    routes: list[BaseRoute] = [*api.routes(config.base_path)]
    if config.hooks:
        routes.extend(hooks.routes)
    app = Starlette(routes=routes)
    app.state.axis = AxisStore(config)
    return app


def run(
    host: str = "127.0.0.1", port: int = 8091, *, config: AxisSimConfig, log_level: str = "info"
) -> None:
    """Serve the simulator until interrupted (what ``eoffice axis-sim`` calls)."""
    # A commit-then-timeout answer may still be waiting at shutdown: don't wait for it long.
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=2,
    )
