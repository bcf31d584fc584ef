"""Helpers for the MSS tests: a real uvicorn server in a thread, demo SIMs, token forging."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jws
from starlette.types import ASGIApp

from backend.mssp_sim import SimIdentity, generate_identity

RSA_MSISDN = "+84900000001"
EC_MSISDN = "+84900000002"
NOCERT_MSISDN = "+84900000003"
AP_ID = "http://eoffice.test/ap"
AP_PASSWORD = "test-ap-password"
MSSP_ID = "http://mssp-sim.test"


@functools.cache
def identities() -> tuple[SimIdentity, ...]:
    """Demo SIMs, generated once per test run (RSA key generation is slow)."""
    rsa_sim = generate_identity(RSA_MSISDN, display_name="Nguyễn Văn An")
    ec_sim = generate_identity(EC_MSISDN, display_name="Trần Thị Bình", key_type="ec")
    no_cert = SimIdentity(
        msisdn=NOCERT_MSISDN,
        private_key_pem=ec_sim.private_key_pem,
        certificate_der=None,
        display_name="Lê Văn Cường",
    )
    return rsa_sim, ec_sim, no_cert


def identity(msisdn: str) -> SimIdentity:
    return next(i for i in identities() if i.msisdn == msisdn)


@functools.cache
def notification_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class LiveServer:
    """An ASGI app served by uvicorn on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: ASGIApp) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws="none", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def live_server(app: ASGIApp) -> Iterator[LiveServer]:
    server = LiveServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "iss": MSSP_ID,
        "aud": AP_ID,
        "iat": int(time.time()),
        "jti": "n-" + hashlib.sha256(str(time.perf_counter_ns()).encode()).hexdigest()[:16],
        "MSSP_TransID": "S123",
        "AP_TransID": "A123",
        "MSISDN": RSA_MSISDN,
        "StatusCode": 500,
    }
    values.update(overrides)
    return values


def es256_token(payload: dict[str, Any], private_pem: bytes) -> str:
    return jws.sign(payload, private_pem.decode(), algorithm="ES256")


def unsigned_token(payload: dict[str, Any]) -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(payload).encode())}."


def hs256_with_public_key(payload: dict[str, Any], public_key_pem: bytes) -> str:
    """The classic confusion attack: HMAC keyed with the verifier's public key."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    mac = hmac.new(public_key_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(mac)}"
