"""What the simulator's handlers share, kept on ``app.state.sim``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from starlette.requests import Request

from backend.mssp_sim.config import SimConfig
from backend.mssp_sim.notify import Notifier
from backend.mssp_sim.store import SimStore

__all__ = ["Sim", "sim_of"]


@dataclass(slots=True)
class Sim:
    """The configuration, the state and the notifier of one simulator app."""

    config: SimConfig
    store: SimStore
    notifier: Notifier
    seen_ap_trans_ids: set[str] = field(default_factory=set)


def sim_of(request: Request) -> Sim:
    """The :class:`Sim` of the app serving ``request``."""
    return cast(Sim, request.app.state.sim)
