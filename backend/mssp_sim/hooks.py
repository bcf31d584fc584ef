"""``/_test/`` endpoints that make the virtual phones misbehave on purpose (tests only)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.mssp_sim.config import Behaviour
from backend.mssp_sim.state import sim_of

__all__ = ["routes"]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def set_behaviour(request: Request) -> Response:
    """POST {"behaviour": "auto_confirm"|...} — what this phone does with new requests."""
    sim = sim_of(request)
    msisdn = request.path_params["msisdn"]
    if msisdn not in sim.store.users:
        return JSONResponse({"error": "unknown msisdn"}, status_code=404)
    try:
        behaviour = Behaviour((await _json(request)).get("behaviour", ""))
    except ValueError:
        return JSONResponse({"error": f"behaviour must be one of {list(Behaviour)}"}, 400)
    sim.store.set_behaviour(msisdn, behaviour)
    return JSONResponse({"msisdn": msisdn, "behaviour": behaviour.value})


async def set_down(request: Request) -> Response:
    """POST {"down": true|false} — answer every protocol request with HTTP 503."""
    sim = sim_of(request)
    sim.store.down = bool((await _json(request)).get("down", True))
    return JSONResponse({"down": sim.store.down})


async def list_transactions(request: Request) -> Response:
    """GET — every transaction, newest last."""
    store = sim_of(request).store
    found = [store.get(key) for key in list(store.transactions)]
    return JSONResponse(
        [
            {
                "mssp_trans_id": t.mssp_trans_id,
                "ap_trans_id": t.ap_trans_id,
                "msisdn": t.msisdn,
                "status": t.status,
                "event_id": t.event_id,
                "display_text": t.display_text,
            }
            for t in found
            if t is not None
        ]
    )


async def act(request: Request) -> Response:
    """POST .../{action} with action confirm ({"pin": ...} optional), cancel or expire."""
    sim = sim_of(request)
    tx_id = request.path_params["tx"]
    action = request.path_params["action"]
    if action == "confirm":
        pin = str((await _json(request)).get("pin", sim.config.pin))
        return JSONResponse({"outcome": sim.store.confirm(tx_id, pin)})
    if action == "cancel":
        return JSONResponse({"outcome": "cancelled" if sim.store.cancel(tx_id) else "not_pending"})
    if action == "expire":
        return JSONResponse({"outcome": "expired" if sim.store.expire(tx_id) else "not_pending"})
    return JSONResponse({"error": "action must be confirm, cancel or expire"}, status_code=404)


routes = [
    Route(
        "/_test/phones/{msisdn}/behaviour", set_behaviour, methods=["POST"], name="test_behaviour"
    ),
    Route("/_test/down", set_down, methods=["POST"], name="test_down"),
    Route("/_test/transactions", list_transactions, methods=["GET"], name="test_transactions"),
    Route("/_test/transactions/{tx}/{action}", act, methods=["POST"], name="test_act"),
]
