"""Verify the MSSP's server-to-server completion notification (a compact JWS, ES256 only).

The algorithm is pinned here, never read from the token: a header saying ``none`` or ``HS256``
(the "HMAC with the public key as secret" trick) is refused before any key is used.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from jose import jwk, jws
from jose.exceptions import JOSEError

from signing.mss_errors import (
    MssInvalidInputError,
    NotificationAlgorithmError,
    NotificationClaimsError,
    NotificationExpiredError,
    NotificationReplayError,
    NotificationSignatureError,
)

__all__ = ["InMemoryReplayGuard", "MssNotification", "ReplayGuard", "verify_notification"]

ALGORITHM = "ES256"


class ReplayGuard(Protocol):
    """Single-use storage for notification ids (Redis ``SET key 1 NX EX ttl`` in production)."""

    async def claim(self, key: str, *, ttl_seconds: float) -> bool:
        """Record ``key``; return ``False`` when it was already recorded and has not expired."""
        ...


class InMemoryReplayGuard:
    """A :class:`ReplayGuard` for one process and for tests."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}

    async def claim(self, key: str, *, ttl_seconds: float) -> bool:
        """Record ``key`` for ``ttl_seconds``; ``False`` if it is already there."""
        now = self._clock()
        self._seen = {k: until for k, until in self._seen.items() if until > now}
        if key in self._seen:
            return False
        self._seen[key] = now + ttl_seconds
        return True


@dataclass(frozen=True, slots=True)
class MssNotification:
    """The verified content of a completion notification.

    Attributes:
        jti: the notification's unique id (already recorded by the replay guard, if one was given).
        mssp_trans_id: the MSSP's transaction id; match it to your stored transaction.
        ap_trans_id: our AP_TransID for the transaction.
        msisdn: the phone number.
        status_code: the final MSS status (500 = signature ready, 401 = cancelled, ...).
        issued_at: ``iat``, seconds since the epoch.
    """

    jti: str
    mssp_trans_id: str
    ap_trans_id: str
    msisdn: str
    status_code: int
    issued_at: int


def _str_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise NotificationClaimsError(f"notification claim {name!r} is missing")
    return value


def _int_claim(claims: dict[str, Any], name: str) -> int:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise NotificationClaimsError(f"notification claim {name!r} is missing or not a number")
    return value


async def verify_notification(
    body: bytes | str,
    *,
    mssp_public_key_pem: bytes | str,
    expected_audience: str,
    expected_issuer: str,
    replay_guard: ReplayGuard | None,
    max_age_seconds: int = 300,
    clock_skew_seconds: int = 30,
    now: float | None = None,
) -> MssNotification:
    """Verify a completion notification posted by the MSSP.

    Args:
        body: the raw HTTP body, a compact JWS.
        mssp_public_key_pem: the MSSP's EC P-256 public key (PEM).
        expected_audience: our AP_ID; the ``aud`` claim must equal it.
        expected_issuer: the MSSP's id; the ``iss`` claim must equal it.
        replay_guard: where ``jti`` is claimed; ``None`` if the caller records the returned
            ``jti`` itself.
        max_age_seconds: oldest accepted ``iat``; also how long the ``jti`` is remembered.
        clock_skew_seconds: how far in the future ``iat`` may be.
        now: the current time (seconds since the epoch); defaults to the clock.

    Returns:
        The verified :class:`MssNotification`.

    Raises:
        NotificationSignatureError: not a JWS, or the signature does not verify with the key.
        NotificationAlgorithmError: the header names any algorithm but ES256.
        NotificationExpiredError: ``iat`` is outside the window.
        NotificationClaimsError: issuer, audience or another claim is wrong or missing.
        NotificationReplayError: the ``jti`` was already claimed.
        MssInvalidInputError: the configured public key is unusable.
    """
    token = (body.decode("ascii", "replace") if isinstance(body, bytes) else body).strip()
    try:
        header = jws.get_unverified_header(token)
    except JOSEError:
        raise NotificationSignatureError("notification is not a compact JWS") from None
    if header.get("alg") != ALGORITHM:
        raise NotificationAlgorithmError(
            f"notification algorithm {header.get('alg')!r} refused; only ES256 is accepted"
        )
    try:
        key = jwk.construct(mssp_public_key_pem, ALGORITHM)
    except JOSEError as exc:
        raise MssInvalidInputError(f"unusable MSSP public key: {exc}") from None
    try:
        payload = jws.verify(token, key, algorithms=[ALGORITHM])
    except JOSEError:
        raise NotificationSignatureError("notification signature does not verify") from None
    try:
        claims = json.loads(payload)
    except ValueError:
        raise NotificationClaimsError("notification payload is not JSON") from None
    if not isinstance(claims, dict):
        raise NotificationClaimsError("notification payload is not a JSON object")

    if claims.get("iss") != expected_issuer:
        raise NotificationClaimsError(f"unexpected notification issuer {claims.get('iss')!r}")
    if claims.get("aud") != expected_audience:
        raise NotificationClaimsError(f"unexpected notification audience {claims.get('aud')!r}")
    issued_at = _int_claim(claims, "iat")
    current = time.time() if now is None else now
    if issued_at < current - max_age_seconds or issued_at > current + clock_skew_seconds:
        raise NotificationExpiredError()
    notification = MssNotification(
        jti=_str_claim(claims, "jti"),
        mssp_trans_id=_str_claim(claims, "MSSP_TransID"),
        ap_trans_id=_str_claim(claims, "AP_TransID"),
        msisdn=_str_claim(claims, "MSISDN"),
        status_code=_int_claim(claims, "StatusCode"),
        issued_at=issued_at,
    )
    if replay_guard is not None and not await replay_guard.claim(
        f"mss-notification:{notification.jti}", ttl_seconds=max_age_seconds + clock_skew_seconds
    ):
        raise NotificationReplayError()
    return notification
