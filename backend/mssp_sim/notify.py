"""Signed (ES256 JWS) completion notifications, POSTed to the AP when a transaction finishes."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jws

from backend.mssp_sim.config import SimConfig
from backend.mssp_sim.store import Transaction

__all__ = ["Notifier"]

log = logging.getLogger(__name__)


class Notifier:
    """Signs notifications with the simulator's EC P-256 key and sends them in the background."""

    def __init__(self, config: SimConfig) -> None:
        self._config = config
        pem = config.notification_key_pem
        if pem is None:
            pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("notification_key_pem must be an EC P-256 private key")
        self._private_pem = pem.decode("ascii")
        self.public_key_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def token(self, tx: Transaction) -> str:
        """The compact JWS announcing ``tx``'s final status."""
        claims = {
            "iss": self._config.mssp_id,
            "aud": self._config.ap_id,
            "iat": int(time.time()),
            "jti": secrets.token_hex(16),
            "MSSP_TransID": tx.mssp_trans_id,
            "AP_TransID": tx.ap_trans_id,
            "MSISDN": tx.msisdn,
            "StatusCode": tx.status,
        }
        return jws.sign(claims, self._private_pem, algorithm="ES256")

    def schedule(self, tx: Transaction) -> None:
        """Send the notification for ``tx`` in the background, if a URL is configured."""
        if self._config.notification_url is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._send(self._config.notification_url, self.token(tx)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Wait (briefly) for notifications still in flight."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

    async def _send(self, url: str, token: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.post(
                    url, content=token, headers={"Content-Type": "application/jose"}
                )
            log.info("notification to %s: HTTP %s", url, response.status_code)
        except httpx.HTTPError as exc:
            log.warning("notification to %s failed: %s", url, exc)
