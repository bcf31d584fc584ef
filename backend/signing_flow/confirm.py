"""Passkey confirmation of a signing transaction (sole control, bound to the exact data).

The WebAuthn challenge is not random: it is `transactions.commitment(...)` — a hash over the
transaction id, the hash of the sorted DTBS hashes, the document version hashes and the expiry.
It is remembered in Redis for this transaction only (purpose `sign:<tx id>`) and consumed by
the first answer, user verification is required, and the passkey must be the signer's own.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    generate_authentication_options,
    options_to_json,
    verify_authentication_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure
from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

from backend.core import audit
from backend.core.clock import Clock
from backend.core.models import Passkey, User
from backend.identity import challenges
from backend.identity.passkeys import RelyingParty
from backend.signing_flow import transactions as tx_mod
from backend.signing_flow.tables import SigningTransaction, TxState
from backend.signing_flow.transactions import SigningFlowError

TIMEOUT_MS = 120_000


def purpose(tx_id: str) -> str:
    return f"sign:{tx_id}"


def refused(detail_vi: str, detail_en: str) -> SigningFlowError:
    error = SigningFlowError(detail_vi, detail_en)
    error.status_code = 400
    return error


async def passkey_options(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    rp: RelyingParty,
    tx: SigningTransaction,
    signer: User,
) -> str:
    """Options for `navigator.credentials.get`; moves the transaction to `awaiting`."""
    if await tx_mod.expire_if_due(db, clock=clock, tx=tx):
        raise tx_mod.expired_error()
    if tx.status not in (TxState.PREPARED, TxState.AWAITING) or tx.method != "passkey":
        raise SigningFlowError(
            "Giao dịch ký này đã được xử lý.", "This signing transaction was already handled."
        )
    own = await db.scalars(select(Passkey).where(Passkey.user_id == signer.id))
    challenge = bytes.fromhex(tx.challenge)
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id)) for p in own
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    await challenges.remember(redis, challenge=challenge, purpose=purpose(tx.id), data={})
    if tx.status == TxState.PREPARED:
        await tx_mod.move(
            db, tx.id, clock=clock, from_states=(TxState.PREPARED,), to=TxState.AWAITING
        )
        await audit.record(
            db,
            clock=clock,
            action="signing.confirmation_requested",
            actor_id=signer.id,
            object_type="signing_transaction",
            object_id=tx.id,
            detail={"method": "passkey"},
        )
    return options_to_json(options)


async def verify_passkey(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    rp: RelyingParty,
    tx_id: str,
    signer: User,
    credential: dict[str, Any],
    ip: str,
) -> SigningTransaction:
    """Check the assertion and move the transaction to `signing` (exactly once).

    Raises SigningFlowError for a replay, an assertion made for another transaction, an expired
    transaction, another person's passkey or a failed verification; nothing is signed then.
    """
    tx = await tx_mod.get(db, tx_id, signer_id=signer.id)
    try:
        parsed = parse_authentication_credential_json(credential)
    except (InvalidJSONStructure, InvalidAuthenticationResponse, ValueError, TypeError):
        raise refused(
            "Phản hồi của thiết bị không hợp lệ.", "The device's response is malformed."
        ) from None
    answered = challenges.challenge_of(bytes_to_base64url(parsed.response.client_data_json))
    if answered != tx_mod.expected_challenge(tx) or answered.hex() != tx.challenge:
        await _audit_refusal(db, clock, tx, signer, ip, "challenge_mismatch")
        raise refused(
            "Xác nhận này không dành cho văn bản đang ký.",
            "This confirmation was made for something else.",
        )
    try:
        await challenges.consume(redis, challenge=answered, purpose=purpose(tx.id))
    except challenges.ChallengeError:
        await _audit_refusal(db, clock, tx, signer, ip, "replay_or_unknown")
        raise refused(
            "Xác nhận này đã được dùng hoặc đã hết hạn; không ký lại.",
            "This confirmation was already used or has expired; nothing was signed again.",
        ) from None
    if await tx_mod.expire_if_due(db, clock=clock, tx=tx):
        raise tx_mod.expired_error()
    passkey = await db.scalar(
        select(Passkey).where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
    )
    if passkey is None or passkey.user_id != signer.id:
        await _audit_refusal(db, clock, tx, signer, ip, "not_own_passkey")
        raise refused(
            "Khóa truy cập này không phải của người ký.", "This passkey is not the signer's."
        )
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=answered,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse as exc:
        await _audit_refusal(db, clock, tx, signer, ip, f"invalid: {exc}"[:200])
        raise refused(
            "Không xác thực được (cần Face ID, vân tay hoặc mã khóa màn hình).",
            "The confirmation could not be verified (user verification is required).",
        ) from None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = clock.now()
    moved = await tx_mod.move(
        db, tx.id, clock=clock, from_states=(TxState.AWAITING, TxState.PREPARED), to=TxState.SIGNING
    )
    if not moved:
        raise SigningFlowError(
            "Giao dịch ký này đã được xử lý.", "This signing transaction was already handled."
        )
    await audit.record(
        db,
        clock=clock,
        action="signing.confirmed",
        actor_id=signer.id,
        object_type="signing_transaction",
        object_id=tx.id,
        detail={"method": "passkey", "passkey_id": passkey.id, "dtbs_digest": tx.dtbs_digest},
        ip=ip,
    )
    return tx


async def _audit_refusal(
    db: AsyncSession, clock: Clock, tx: SigningTransaction, signer: User, ip: str, reason: str
) -> None:
    await audit.record(
        db,
        clock=clock,
        action="signing.confirmation_refused",
        actor_id=signer.id,
        object_type="signing_transaction",
        object_id=tx.id,
        detail={"reason": reason},
        ip=ip,
    )
