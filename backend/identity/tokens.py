"""API bearer tokens: ES256 JWTs for service accounts, signed by the server with python-jose.

The algorithm is pinned (never taken from the token's header); the header's `kid` only picks
which of our public keys to try, so keys can rotate: `eoffice api-key rotate` adds a new signing
key and older keys keep verifying the tokens they signed. Keys are generated into
`<data dir>/secrets/api-keys/` and never committed. Revoked `jti`s sit in Redis until the token's
expiry; the SQL row is checked too, so a Redis restart does not resurrect a revoked token.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt
from jose.exceptions import JOSEError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.audit import utc_naive
from backend.core.clock import Clock
from backend.core.errors import (
    ConflictError,
    NotFoundError,
    UnauthenticatedError,
    ValidationError,
)
from backend.core.models import Agency, ApiToken, ServiceAccount
from backend.identity.policy import API_SCOPES, ServicePrincipal

ALGORITHM = "ES256"
AUDIENCE = "eoffice-api"
REVOKED = "revoked-jti:"
MAX_DAYS = 366


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    public_pem: str


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, SigningKey]
    current: str

    def public(self, kid: str) -> str | None:
        key = self.keys.get(kid)
        return key.public_pem if key else None


def _write_key(directory: Path) -> None:
    kid = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(directory / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def key_directory(data_dir: Path) -> Path:
    directory = data_dir / "secrets" / "api-keys"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def load_keyring(data_dir: Path) -> KeyRing:
    """All signing keys in the data dir (one is generated on first use); the newest signs."""
    directory = key_directory(data_dir)
    if not any(directory.glob("*.pem")):
        _write_key(directory)
    keys: dict[str, SigningKey] = {}
    for path in sorted(directory.glob("*.pem")):
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey):
            continue
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        keys[path.stem] = SigningKey(
            kid=path.stem, private_pem=path.read_text(), public_pem=public_pem.decode()
        )
    return KeyRing(keys=keys, current=sorted(keys)[-1])


def rotate(data_dir: Path) -> str:
    """Add a new signing key; returns its kid. Old keys stay to verify what they signed."""
    _write_key(key_directory(data_dir))
    return load_keyring(data_dir).current


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    record: ApiToken


def _refused(detail: str) -> UnauthenticatedError:
    return UnauthenticatedError(
        "Mã truy cập API không hợp lệ, đã hết hạn hoặc đã bị thu hồi.",
        f"The API token is invalid, expired or revoked ({detail}).",
    )


async def create_service_account(
    db: AsyncSession, *, clock: Clock, agency: Agency, name: str, actor_id: int
) -> ServiceAccount:
    name = " ".join(name.split())
    if not name or len(name) > 128:
        raise ValidationError(
            "Tên tài khoản dịch vụ cần từ 1 đến 128 ký tự.",
            "A service account name needs 1 to 128 characters.",
        )
    clash = await db.scalar(
        select(ServiceAccount.id).where(
            ServiceAccount.agency_id == agency.id, ServiceAccount.name == name
        )
    )
    if clash is not None:
        raise ConflictError(
            f"Tài khoản dịch vụ “{name}” đã tồn tại.", f"Service account {name!r} exists."
        )
    account = ServiceAccount(
        agency_id=agency.id, name=name, created_by_id=actor_id, created_at=clock.now()
    )
    db.add(account)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="service_account.created",
        actor_id=actor_id,
        object_type="service_account",
        object_id=account.id,
        detail={"name": name},
    )
    return account


async def issue(
    db: AsyncSession,
    *,
    clock: Clock,
    keyring: KeyRing,
    issuer: str,
    account: ServiceAccount,
    scopes: Collection[str],
    days: int,
    actor_id: int,
) -> IssuedToken:
    unknown = set(scopes) - set(API_SCOPES)
    if not scopes or unknown:
        raise ValidationError(
            "Hãy chọn ít nhất một phạm vi hợp lệ cho mã truy cập.",
            f"Choose at least one valid scope (unknown: {sorted(unknown)}).",
        )
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            f"Thời hạn mã truy cập từ 1 đến {MAX_DAYS} ngày.",
            f"Token lifetime must be 1 to {MAX_DAYS} days.",
        )
    now = clock.now()
    expires = now + timedelta(days=days)
    jti = str(uuid.uuid4())
    key = keyring.keys[keyring.current]
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": f"service-account:{account.id}",
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
        "scope": " ".join(sorted(scopes)),
    }
    token = jwt.encode(claims, key.private_pem, algorithm=ALGORITHM, headers={"kid": key.kid})
    record = ApiToken(
        service_account_id=account.id,
        jti=jti,
        kid=key.kid,
        scopes=sorted(scopes),
        created_by_id=actor_id,
        created_at=now,
        expires_at=expires,
    )
    db.add(record)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="api_token.created",
        actor_id=actor_id,
        object_type="api_token",
        object_id=record.id,
        detail={"jti": jti, "scopes": sorted(scopes), "expires_at": expires.isoformat()},
    )
    return IssuedToken(token=token, record=record)


def _claims(token: str, *, keyring: KeyRing, issuer: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except JOSEError:
        raise _refused("malformed") from None
    # The header is only consulted for which key to try; the algorithm is ours.
    if header.get("alg") != ALGORITHM:
        raise _refused("algorithm")
    public = keyring.public(str(header.get("kid", "")))
    if public is None:
        raise _refused("unknown key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer,
            # Expiry is judged against the app's clock below (jose would use time.time()).
            options={
                "verify_exp": False,
                "require_exp": True,
                "require_iat": True,
                "require_jti": True,
                "require_aud": True,
                "require_iss": True,
            },
        )
    except JOSEError as exc:
        raise _refused(str(exc)) from None
    return claims


async def authenticate(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    keyring: KeyRing,
    issuer: str,
    token: str,
    path: str,
    ip: str = "",
) -> ServicePrincipal:
    """The service account behind a bearer token; every accepted use is audited."""
    claims = _claims(token, keyring=keyring, issuer=issuer)
    now = clock.now().timestamp()
    try:
        exp, iat, jti = int(claims["exp"]), int(claims["iat"]), str(claims["jti"])
    except (KeyError, TypeError, ValueError):
        raise _refused("claims") from None
    if exp <= now:
        raise _refused("expired")
    if iat > now + 60:
        raise _refused("issued in the future")
    if await redis.exists(REVOKED + jti):
        raise _refused("revoked")
    record = await db.scalar(select(ApiToken).where(ApiToken.jti == jti))
    if record is None or record.revoked_at is not None:
        raise _refused("revoked")
    account = await db.get(ServiceAccount, record.service_account_id)
    if account is None or account.disabled_at is not None:
        raise _refused("account disabled")
    record.last_used_at = clock.now()
    await audit.record(
        db,
        clock=clock,
        action="api_token.used",
        object_type="api_token",
        object_id=record.id,
        detail={"jti": jti, "path": path, "service_account_id": account.id},
        ip=ip,
    )
    return ServicePrincipal(
        service_account_id=account.id,
        agency_id=account.agency_id,
        scopes=frozenset(str(claims.get("scope", "")).split()) & frozenset(record.scopes),
        jti=jti,
    )


async def revoke(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    token_id: int,
    agency_id: int,
    actor_id: int,
) -> ApiToken:
    record = await db.get(ApiToken, token_id)
    account = await db.get(ServiceAccount, record.service_account_id) if record else None
    if record is None or account is None or account.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy mã truy cập.", "API token not found.")
    if record.revoked_at is None:
        record.revoked_at = clock.now()
        remaining = int((utc_naive(record.expires_at) - utc_naive(clock.now())).total_seconds())
        if remaining > 0:
            await redis.set(REVOKED + record.jti, b"1", ex=remaining)
        await audit.record(
            db,
            clock=clock,
            action="api_token.revoked",
            actor_id=actor_id,
            object_type="api_token",
            object_id=record.id,
            detail={"jti": record.jti},
        )
    return record
