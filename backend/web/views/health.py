"""/healthz: can this process reach its database, Redis and blob store, and how fast."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.core import db
from backend.core.blobs_s3 import S3BlobStore
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


async def _timed_blobs(request: Request) -> dict[str, object]:
    store = resources(request).blobs
    kind = "s3" if isinstance(store, S3BlobStore) else "file"
    started = time.perf_counter()
    try:
        await store.ping()
    except Exception as exc:
        return {"ok": False, "kind": kind, "error": type(exc).__name__}
    latency = round((time.perf_counter() - started) * 1000, 2)
    return {"ok": True, "kind": kind, "latency_ms": latency}


async def healthz(request: Request) -> JSONResponse:
    database = await _timed_database(request)
    redis = await _timed_redis(request)
    blobs = await _timed_blobs(request)
    ok = bool(database["ok"]) and bool(redis["ok"]) and bool(blobs["ok"])
    return JSONResponse(
        {
            "status": "ok" if ok else "degraded",
            "database": database,
            "redis": redis,
            "blobs": blobs,
        },
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )
