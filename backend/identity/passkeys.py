"""Passkeys (WebAuthn): registration and username-less sign-in, with py_webauthn.

Challenges are single-use (see `challenges`), user verification is required, and the stored
signature counter must grow: a counter that goes backwards means the credential may have been
cloned, so the sign-in is refused and the audit log says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from backend.core import audit
from backend.core.clock import Clock
from backend.core.errors import ConflictError, EofficeError, NotFoundError, ValidationError
from backend.core.models import Passkey, User
from backend.identity import challenges, ratelimit

SIGNIN = "signin"
TIMEOUT_MS = 120_000


class PasskeyError(EofficeError):
    status_code = 400


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str


@dataclass(frozen=True)
class Limits:
    per_ip: int
    per_account: int


@dataclass(frozen=True)
class SignInOutcome:
    """Either a person, or the refusal to show them. Failures are audited either way, so the
    caller commits before raising `refusal`."""

    user: User | None
    refusal: EofficeError | None = None


def _refused(reason_vi: str, reason_en: str) -> PasskeyError:
    return PasskeyError(reason_vi, reason_en)


def _malformed() -> PasskeyError:
    return _refused(
        "Phản hồi của thiết bị không hợp lệ. Vui lòng thử lại.",
        "The device's response is malformed. Please try again.",
    )


async def ensure_handle(db: AsyncSession, user: User) -> bytes:
    """The user's WebAuthn user handle: random, never the username, fixed once chosen."""
    if user.passkey_handle is None:
        user.passkey_handle = bytes_to_base64url(secrets.token_bytes(32))
        await db.flush()
    return base64url_to_bytes(user.passkey_handle)


async def passkeys_of(db: AsyncSession, user_id: int) -> list[Passkey]:
    return list(
        await db.scalars(
            select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
        )
    )


async def registration_options(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    rp: RelyingParty,
    user: User,
    purpose: str,
    bound: dict[str, object] | None = None,
) -> str:
    """Options JSON for `navigator.credentials.create`; the challenge remembers `purpose`."""
    handle = await ensure_handle(db, user)
    existing = await passkeys_of(db, user.id)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=handle,
        user_name=user.username,
        user_display_name=user.full_name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in existing
        ],
    )
    await challenges.remember(
        redis,
        challenge=options.challenge,
        purpose=purpose,
        data={"user_id": user.id, **(bound or {})},
    )
    return options_to_json(options)


def _client_data(credential: dict[str, Any]) -> str:
    response = credential.get("response")
    if not isinstance(response, dict) or not isinstance(response.get("clientDataJSON"), str):
        raise _malformed()
    return str(response["clientDataJSON"])


async def register(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    rp: RelyingParty,
    user: User,
    credential: dict[str, Any],
    name: str,
    purpose: str,
    bound: dict[str, object] | None = None,
    ip: str = "",
) -> Passkey:
    """Verify a new credential for `user` and store it."""
    challenge = challenges.challenge_of(_client_data(credential))
    data = await challenges.consume(redis, challenge=challenge, purpose=purpose)
    expected = {"user_id": user.id, **(bound or {})}
    if any(data.get(key) != value for key, value in expected.items()):
        raise _refused(
            "Yêu cầu đăng ký không khớp với tài khoản này. Vui lòng tải lại trang.",
            "This registration request belongs to another account. Please reload the page.",
        )
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, InvalidJSONStructure) as exc:
        raise _refused(
            "Thiết bị không tạo được khóa truy cập hợp lệ (cần xác minh bằng Face ID, vân tay "
            "hoặc mã khóa màn hình). Vui lòng thử lại.",
            f"The device did not create a valid passkey (user verification is required): {exc}",
        ) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if await db.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise ConflictError(
            "Khóa truy cập này đã được đăng ký.", "This passkey is already registered."
        )
    transports = [
        t.value if isinstance(t, AuthenticatorTransport) else str(t)
        for t in (parsed.response.transports or [])
    ]
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=clean_name(name),
        transports=transports,
        aaguid=str(verified.aaguid),
        backed_up=bool(verified.credential_backed_up),
        created_at=clock.now(),
    )
    db.add(passkey)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="passkey.added",
        actor_id=user.id,
        object_type="passkey",
        object_id=passkey.id,
        detail={"name": passkey.name, "aaguid": passkey.aaguid, "purpose": purpose},
        ip=ip,
    )
    return passkey


def clean_name(name: str) -> str:
    name = " ".join(name.split())[:64]
    return name or "Khóa truy cập"


async def authentication_options(redis: aioredis.Redis, *, rp: RelyingParty) -> str:
    """Options JSON for a username-less `navigator.credentials.get` (discoverable credentials)."""
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=TIMEOUT_MS,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    await challenges.remember(redis, challenge=options.challenge, purpose=SIGNIN, data={})
    return options_to_json(options)


async def _fail(
    db: AsyncSession,
    *,
    clock: Clock,
    ip: str,
    reason: str,
    error: EofficeError,
    user_id: int | None = None,
    passkey_id: int | None = None,
) -> SignInOutcome:
    await audit.record(
        db,
        clock=clock,
        action="signin.failure",
        actor_id=user_id,
        object_type="passkey" if passkey_id else "",
        object_id=passkey_id or "",
        detail={"reason": reason},
        ip=ip,
    )
    return SignInOutcome(user=None, refusal=error)


async def authenticate(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    rp: RelyingParty,
    credential: dict[str, Any],
    limits: Limits,
    ip: str,
) -> SignInOutcome:
    """Check a sign-in assertion. Refusals are audited and returned, not raised."""
    try:
        parsed = parse_authentication_credential_json(credential)
    except (InvalidJSONStructure, InvalidAuthenticationResponse, ValueError, TypeError):
        return await _fail(db, clock=clock, ip=ip, reason="malformed", error=_malformed())
    challenge = challenges.challenge_of(bytes_to_base64url(parsed.response.client_data_json))
    try:
        await challenges.consume(redis, challenge=challenge, purpose=SIGNIN)
    except challenges.ChallengeError as exc:
        return await _fail(db, clock=clock, ip=ip, reason="challenge", error=exc)
    passkey = await db.scalar(
        select(Passkey).where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
    )
    unknown = _refused(
        "Khóa truy cập này không còn được chấp nhận (có thể đã bị thu hồi). Hãy dùng khóa khác "
        "hoặc đề nghị quản trị viên gửi liên kết đăng ký mới.",
        "This passkey is no longer accepted (it may have been revoked). Use another one or ask "
        "your administrator for a new enrolment link.",
    )
    if passkey is None:
        return await _fail(db, clock=clock, ip=ip, reason="unknown_credential", error=unknown)
    user = await db.get(User, passkey.user_id)
    assert user is not None
    await ratelimit.hit(redis, bucket="signin", key=f"account:{user.id}", limit=limits.per_account)
    handle = parsed.response.user_handle
    if not user.is_active or handle is None or bytes_to_base64url(handle) != user.passkey_handle:
        return await _fail(
            db,
            clock=clock,
            ip=ip,
            reason="inactive_or_handle",
            error=unknown,
            user_id=user.id,
            passkey_id=passkey.id,
        )
    try:
        # The counter is compared below, after the signature is known to be good, so that a
        # regression is told apart from a forgery and audited as such.
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as exc:
        return await _fail(
            db,
            clock=clock,
            ip=ip,
            reason=f"invalid: {exc}"[:200],
            error=_refused(
                "Không xác thực được khóa truy cập (cần xác minh bằng Face ID, vân tay hoặc mã "
                "khóa màn hình). Vui lòng thử lại.",
                "The passkey could not be verified (user verification is required). Please try "
                "again.",
            ),
            user_id=user.id,
            passkey_id=passkey.id,
        )
    new_count, stored = verified.new_sign_count, passkey.sign_count
    if (new_count > 0 or stored > 0) and new_count <= stored:
        await audit.record(
            db,
            clock=clock,
            action="passkey.sign_count_regression",
            actor_id=user.id,
            object_type="passkey",
            object_id=passkey.id,
            detail={"stored": stored, "presented": new_count, "possible": "cloned authenticator"},
            ip=ip,
        )
        return await _fail(
            db,
            clock=clock,
            ip=ip,
            reason="sign_count_regression",
            error=_refused(
                "Khóa truy cập có dấu hiệu bị sao chép nên đã bị từ chối. Hãy liên hệ quản trị "
                "viên.",
                "This passkey looks cloned and was refused. Please contact your administrator.",
            ),
            user_id=user.id,
            passkey_id=passkey.id,
        )
    passkey.sign_count = new_count
    passkey.last_used_at = clock.now()
    passkey.backed_up = bool(verified.credential_backed_up)
    await audit.record(
        db,
        clock=clock,
        action="signin.success",
        actor_id=user.id,
        object_type="passkey",
        object_id=passkey.id,
        detail={"method": "passkey"},
        ip=ip,
    )
    return SignInOutcome(user=user)


async def own_passkey(db: AsyncSession, *, user_id: int, passkey_id: int) -> Passkey:
    passkey = await db.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user_id:
        raise NotFoundError("Không tìm thấy khóa truy cập.", "Passkey not found.")
    return passkey


async def rename(db: AsyncSession, *, user_id: int, passkey_id: int, name: str) -> Passkey:
    passkey = await own_passkey(db, user_id=user_id, passkey_id=passkey_id)
    passkey.name = clean_name(name)
    return passkey


async def revoke(
    db: AsyncSession, *, clock: Clock, user_id: int, passkey_id: int, actor_id: int, ip: str = ""
) -> None:
    """Remove one of a person's passkeys; the last one stays (it is their only way in)."""
    passkey = await own_passkey(db, user_id=user_id, passkey_id=passkey_id)
    count = await db.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
    )
    if (count or 0) <= 1:
        raise ValidationError(
            "Đây là khóa truy cập duy nhất của bạn. Hãy thêm khóa khác trước khi thu hồi khóa này.",
            "This is your only passkey. Add another one before revoking it.",
        )
    await audit.record(
        db,
        clock=clock,
        action="passkey.removed",
        actor_id=actor_id,
        object_type="passkey",
        object_id=passkey.id,
        detail={"name": passkey.name, "user_id": user_id},
        ip=ip,
    )
    await db.delete(passkey)
    await db.flush()
