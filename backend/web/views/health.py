"""/healthz: can this process reach its database and Redis, and how fast."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.core import db
from backend.web.views.render import resources


async def _timed_redis(request: Request) -> dict[str, object]:
    started = time.perf_counter()
    try:
        await resources(request).redis.ping()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def _timed_database(request: Request) -> dict[str, object]:
    try:
        latency = await db.ping(resources(request).engine)
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "latency_ms": round(latency, 2)}


async def healthz(request: Request) -> JSONResponse:
    database = await _timed_database(request)
    redis = await _timed_redis(request)
    ok = bool(database["ok"]) and bool(redis["ok"])
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "database": database, "redis": redis},
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )
