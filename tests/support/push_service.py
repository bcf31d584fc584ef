"""A local Web Push service for tests: a real HTTP server on 127.0.0.1 that checks what a push
service checks (the VAPID JWT: signature, `aud`, `exp`, `sub`, the `k` key; aes128gcm; TTL)
and then plays the browser: it decrypts the payload with the subscription keys the test made
(RFC 8291, via http_ece) and records what the device would have received."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class FakeDevice:
    """The browser's half of a subscription: its ECDH key (p256dh) and auth secret."""

    name: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self, base: str) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{base}/push/{self.name}",
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }


@dataclass
class Received:
    device: str
    payload: dict[str, Any]
    headers: dict[str, str]
    at: float


class PushService:
    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.devices: dict[str, FakeDevice] = {}
        self.received: list[Received] = []
        self.refusals: list[str] = []
        # device name → status to answer (410 gone, 500 failing…); 201 otherwise.
        self.answer: dict[str, int] = {}
        self.delay = 0.0
        self.port = 0
        self.arrived = asyncio.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def device(self, name: str) -> FakeDevice:
        self.devices[name] = FakeDevice(name)
        return self.devices[name]

    def _refuse(self, status: int, why: str) -> web.Response:
        self.refusals.append(why)
        return web.Response(status=status, text=why)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        scheme, _, params = request.headers.get("Authorization", "").partition(" ")
        fields = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
        if scheme != "vapid" or fields.get("k") != self.vapid_public_key:
            return self._refuse(403, "wrong VAPID key")
        try:
            claims = vapid_jwt.decode(fields["t"], fields["k"])
        except Exception:
            return self._refuse(403, "bad VAPID signature")
        header = json.loads(base64.urlsafe_b64decode(fields["t"].split(".")[0] + "=="))
        now = time.time()
        if header.get("alg") != "ES256" or claims.get("aud") != self.base:
            return self._refuse(403, "wrong alg or aud")
        if not now < claims.get("exp", 0) <= now + 24 * 3600:
            return self._refuse(400, "exp out of range")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return self._refuse(400, "bad sub")
        if request.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in request.headers:
            return self._refuse(400, "encoding or TTL missing")
        device = self.devices.get(name)
        if device is None:
            return web.Response(status=404)
        status = self.answer.get(name, 201)
        if status >= 300:
            return web.Response(status=status)
        plain = http_ece.decrypt(
            body, private_key=device.key, auth_secret=device.auth, version="aes128gcm"
        )
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(name, json.loads(plain), headers, now))
        self.arrived.set()
        # The device has it; the sender learns so only after `delay` (a slow push service).
        if self.delay:
            await asyncio.sleep(self.delay * random.random())
        return web.Response(status=201)

    async def wait_for(self, count: int, *, seconds: float = 10.0) -> list[Received]:
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


@asynccontextmanager
async def push_service(vapid_public_key: str) -> AsyncIterator[PushService]:
    service = PushService(vapid_public_key)
    app = web.Application()
    app.router.add_post("/push/{name}", service.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    service.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield service
    finally:
        await runner.cleanup()
