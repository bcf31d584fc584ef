"""`/_sim/` hooks: make the simulated axis misbehave on purpose, and look inside it.

Faults (POST, JSON body; every field optional; each answers with the state it set):

- `/_sim/down` `{"down": true}` — every API call answers HTTP 503 until `{"down": false}`.
- `/_sim/fail` `{"count": 1, "path": "sendEdoc", "status": 500}` — the next `count` API calls
  (of that path only, when given; path is the last URL segment) answer HTTP `status` and do
  nothing.
- `/_sim/slow` `{"seconds": 2.5}` — every API call waits that long before it is handled; 0 ends
  it (and cuts short the waits under way).
- `/_sim/duplicate` `{"count": 1}` — the next `count` sendEdoc calls deliver every recipient
  twice: two knobsticks with different docIds, the same bytes.
- `/_sim/vanish` `{"count": 1}` — the next `count` sendEdoc calls answer OK with a DocId, and
  nothing is delivered (nor listed in getSentEdocList).
- `/_sim/commit-then-timeout` `{"count": 1, "seconds": 30}` — the next `count` sendEdoc calls
  are stored and delivered, then their answer waits `seconds` (longer than the client waits).
- `/_sim/directory` `{"upsert": [{"code", "name", "parent"?, "mail"?}], "delete": ["code"]}` —
  change the directory as another province would; getSynchronizeUnit reports the changes.
  Answers `{"version": n}`.
- `/_sim/reset` `{}` — back to the configured state: no knobsticks, no faults, runtime
  registrations and directory edits undone, waits cut short.

Inspection (GET):

- `/_sim/faults` — the faults in force, as the POST hooks answer them.
- `/_sim/knobsticks` — every knobstick, oldest first: `{docId, senderDocId, from, to,
  messageType, status, description, createdTime, receivedTime, sha256, size, copyOf}`.
- `/_sim/sends` — every accepted sendEdoc: `{senderDocId, systemId, from, messageType,
  recipients, sha256, size, createdTime, fate, knobsticks}`, fate one of delivered, duplicated,
  vanished, delayed.
- `/_sim/requests` — the last 200 API requests as received: `{method, path, headers: [[name,
  value], …] (Latin-1 decoded, in wire order), body_length, body_sha256}`.
- `/_sim/registered` — agency code → system id.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.axis_sim.api import store_of
from backend.axis_sim.config import DirectorySeed
from backend.axis_sim.store import FailRule, format_time

__all__ = ["routes"]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _faults(request: Request) -> Response:
    return JSONResponse(store_of(request).faults.as_json())


async def set_down(request: Request) -> Response:
    store_of(request).faults.down = bool((await _json(request)).get("down", True))
    return _faults(request)


async def set_fail(request: Request) -> Response:
    body = await _json(request)
    path = body.get("path")
    rule = FailRule(
        count=int(body.get("count", 1)),
        path=str(path) if path else None,
        status=int(body.get("status", 500)),
    )
    if rule.count > 0:
        store_of(request).faults.fail.append(rule)
    return _faults(request)


async def set_slow(request: Request) -> Response:
    store = store_of(request)
    store.faults.slow_seconds = max(0.0, float((await _json(request)).get("seconds", 0)))
    if not store.faults.slow_seconds:
        store.wake()
    return _faults(request)


async def set_duplicate(request: Request) -> Response:
    store_of(request).faults.duplicate += int((await _json(request)).get("count", 1))
    return _faults(request)


async def set_vanish(request: Request) -> Response:
    store_of(request).faults.vanish += int((await _json(request)).get("count", 1))
    return _faults(request)


async def set_commit_then_timeout(request: Request) -> Response:
    body = await _json(request)
    faults = store_of(request).faults
    faults.delay += int(body.get("count", 1))
    faults.delay_seconds = float(body.get("seconds", 30))
    return _faults(request)


async def edit_directory(request: Request) -> Response:
    body = await _json(request)
    upsert = [
        DirectorySeed(
            code=str(row["code"]),
            name=str(row["name"]),
            parent=str(row["parent"]) if row.get("parent") else None,
            mail=str(row.get("mail", "")),
        )
        for row in body.get("upsert", [])
    ]
    delete = [str(code) for code in body.get("delete", [])]
    return JSONResponse({"version": store_of(request).edit_directory(upsert, delete)})


async def reset(request: Request) -> Response:
    store_of(request).reset()
    return _faults(request)


async def faults(request: Request) -> Response:
    return _faults(request)


async def knobsticks(request: Request) -> Response:
    return JSONResponse(
        [
            {
                "docId": k.doc_id,
                "senderDocId": k.sender_doc_id,
                "from": k.from_code,
                "to": k.to_code,
                "messageType": k.message_type,
                "status": k.status,
                "description": k.description,
                "createdTime": format_time(k.created),
                "receivedTime": format_time(k.received) if k.received else None,
                "sha256": k.sha256,
                "size": len(k.data),
                "copyOf": k.copy_of,
            }
            for k in store_of(request).knobsticks.values()
        ]
    )


async def sends(request: Request) -> Response:
    return JSONResponse(
        [
            {
                "senderDocId": s.sender_doc_id,
                "systemId": s.system_id,
                "from": s.from_code,
                "messageType": s.message_type,
                "recipients": list(s.recipients),
                "sha256": s.sha256,
                "size": s.size,
                "createdTime": format_time(s.created),
                "fate": s.fate,
                "knobsticks": s.knobsticks,
            }
            for s in store_of(request).sends.values()
        ]
    )


async def requests(request: Request) -> Response:
    return JSONResponse(list(store_of(request).requests))


async def registered(request: Request) -> Response:
    return JSONResponse(store_of(request).registered)


routes = [
    Route("/_sim/down", set_down, methods=["POST"]),
    Route("/_sim/fail", set_fail, methods=["POST"]),
    Route("/_sim/slow", set_slow, methods=["POST"]),
    Route("/_sim/duplicate", set_duplicate, methods=["POST"]),
    Route("/_sim/vanish", set_vanish, methods=["POST"]),
    Route("/_sim/commit-then-timeout", set_commit_then_timeout, methods=["POST"]),
    Route("/_sim/directory", edit_directory, methods=["POST"]),
    Route("/_sim/reset", reset, methods=["POST"]),
    Route("/_sim/faults", faults, methods=["GET"]),
    Route("/_sim/knobsticks", knobsticks, methods=["GET"]),
    Route("/_sim/sends", sends, methods=["GET"]),
    Route("/_sim/requests", requests, methods=["GET"]),
    Route("/_sim/registered", registered, methods=["GET"]),
]
