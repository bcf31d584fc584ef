"""Signing transactions: a durable state machine in SQL.

    prepared → awaiting → signing → completed | failed
        └──────────┴──────→ expired | cancelled

`prepare` computes every document's DTBS (pyHanko interrupted signing), keeps the state in the
blob store and the transaction in SQL, and commits to all DTBS hashes at once. Moves between
states are compare-and-set UPDATEs, so two requests (a double tap, two tabs, two server
processes) never both move a transaction on: exactly one of them signs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.errors import EofficeError, NotFoundError
from backend.core.models import User
from backend.documents import catalogue
from backend.documents.tables import Document
from backend.identity import policy
from backend.signing_flow import authority, drafts
from backend.signing_flow.setup import SigningSetup
from backend.signing_flow.tables import (
    OPEN_STATES,
    Draft,
    SigningGrant,
    SigningItem,
    SigningTransaction,
    TxState,
)
from signing import LeaderAppearance, PadesLevel, SigningError, control_code, prepare_signature

MAX_BATCH = 50
DOMAIN = b"eoffice/sign/v1\x00"


class SigningFlowError(EofficeError):
    status_code = 409


def not_found() -> NotFoundError:
    return NotFoundError("Không tìm thấy giao dịch ký.", "No such signing transaction.")


def expired_error() -> SigningFlowError:
    return SigningFlowError(
        "Yêu cầu ký đã hết hạn. Hãy bấm Ký số để tạo yêu cầu mới.",
        "The signing request has expired. Press Sign to start again.",
    )


def digest_of(hashes: Sequence[str]) -> str:
    """SHA-256 over the sorted DTBS hashes: what one confirmation covers."""
    joined = b"".join(bytes.fromhex(h) for h in sorted(hashes))
    return hashlib.sha256(DOMAIN + joined).hexdigest()


def commitment(
    *, tx_id: str, dtbs_digest: str, version_hashes: Sequence[str], expires_at: datetime
) -> bytes:
    """The WebAuthn challenge: binds the assertion to this transaction and nothing else."""
    body = b"\x00".join(
        [
            DOMAIN,
            tx_id.encode(),
            bytes.fromhex(dtbs_digest),
            *(bytes.fromhex(h) for h in version_hashes),
            str(int(expires_at.timestamp())).encode(),
        ]
    )
    return hashlib.sha256(body).digest()


def expected_challenge(tx: SigningTransaction) -> bytes:
    return commitment(
        tx_id=tx.id,
        dtbs_digest=digest_of([i.dtbs_hash for i in tx.items]),
        version_hashes=[i.base_sha256 for i in tx.items],
        expires_at=tx.expires_at,
    )


@dataclass(frozen=True)
class Prepared:
    transaction: SigningTransaction
    reused: bool


async def move(
    db: AsyncSession,
    tx_id: str,
    *,
    clock: Clock,
    from_states: Sequence[str],
    to: str,
    error: str = "",
) -> bool:
    """Compare-and-set: True only for the one caller that made the move."""
    values: dict[str, object] = {"status": to, "updated_at": clock.now()}
    if error:
        values["error"] = error[:2000]
    result = await db.execute(
        update(SigningTransaction)
        .where(SigningTransaction.id == tx_id, SigningTransaction.status.in_(from_states))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def get(db: AsyncSession, tx_id: str, *, signer_id: int) -> SigningTransaction:
    tx = await db.get(SigningTransaction, tx_id, populate_existing=True)
    if tx is None or tx.signer_id != signer_id:
        raise not_found()
    return tx


async def signable(
    db: AsyncSession, signer: User, document_ids: Sequence[int], *, clock: Clock
) -> list[Document]:
    """The drafts `signer` may sign now, in order; refused with the reason otherwise (a grant
    revoked, expired or out of scope, the signer away)."""
    me = await authority.principal(db, signer, on=authority.today(clock))
    documents: list[Document] = []
    for document_id in document_ids:
        document = await db.get(Document, document_id)
        draft = await db.get(Draft, document_id)
        if document is None or draft is None or document.agency_id != signer.agency_id:
            raise not_waiting()
        refusal = policy.sign_refusal(me, drafts.ref(document, draft))
        if refusal is policy.SignRefusal.NOT_SIGNER:
            raise not_waiting()
        if refusal is not None:
            vi, en = await authority.refusal_message(
                db, refusal, signer=signer, grant_id=draft.grant_id, on=me.on or date.min
            )
            raise SigningFlowError(f"«{document.subject}»: {vi}", f"{document.subject!r}: {en}")
        if document.status != catalogue.Status.DRAFT:
            raise SigningFlowError(
                "Văn bản này không còn chờ ký (đã ký hoặc đã trả lại).",
                "This document no longer awaits a signature (signed or returned).",
            )
        documents.append(document)
    return documents


REASON = "Phê duyệt và ký ban hành"


async def signature_reason(db: AsyncSession, draft: Draft) -> str:
    """The signature's /Reason (signed with it): for a signer who signs on someone's behalf, the
    authority lines and on whose behalf — "Phê duyệt và ký ban hành — KT. CHỦ TỊCH / PHÓ CHỦ TỊCH
    (ký thay Chủ tịch)" — which the verification report shows."""
    grant = await db.get(SigningGrant, draft.grant_id) if draft.grant_id is not None else None
    if grant is None:
        return REASON
    behalf, _ = authority.behalf_text(grant)
    lines = authority.block_lines(grant, collective=None)
    return f"{REASON} — {' / '.join(lines)}" + (f" ({behalf})" if behalf else "")


def not_waiting() -> NotFoundError:
    return NotFoundError(
        "Không tìm thấy văn bản chờ bạn ký.", "No document waiting for your signature."
    )


async def no_longer_authorised(
    db: AsyncSession, *, clock: Clock, signer: User, documents: Sequence[Document]
) -> dict[int, tuple[str, str]]:
    """Checked again when confirmed signatures are about to be embedded: for each document
    `signer` may no longer sign, by id, the reason (a grant revoked while a SIM confirmation was
    pending, the draft gone). The signer is judged once for all of them."""
    ids = [d.id for d in documents]
    drafts_of = {
        d.document_id: d for d in await db.scalars(select(Draft).where(Draft.document_id.in_(ids)))
    }
    me = await authority.principal(db, signer, on=authority.today(clock))
    refused: dict[int, tuple[str, str]] = {}
    for document in documents:
        draft = drafts_of.get(document.id)
        if draft is None:
            refused[document.id] = ("Không còn dự thảo.", "The draft is gone.")
            continue
        refusal = policy.sign_refusal(me, drafts.ref(document, draft))
        if refusal is not None:
            refused[document.id] = await authority.refusal_message(
                db, refusal, signer=signer, grant_id=draft.grant_id, on=me.on or date.min
            )
    return refused


def _main(document: Document) -> tuple[int, int, str]:
    main = next(f for f in document.files if f.kind == "main")
    return main.id, main.current.id, main.current.sha256


async def _reusable(
    db: AsyncSession, *, signer: User, method: str, documents: list[Document], now: datetime
) -> SigningTransaction | None:
    """An open transaction of this signer for exactly these document versions (a double tap,
    a retry after a network drop, a second tab) is handed back instead of a new one."""
    wanted = sorted((d.id, _main(d)[1]) for d in documents)
    candidates = await db.scalars(
        select(SigningTransaction).where(
            SigningTransaction.signer_id == signer.id,
            SigningTransaction.method == method,
            SigningTransaction.status.in_((TxState.PREPARED, TxState.AWAITING)),
        )
    )
    for tx in candidates:
        have = sorted((i.document_id, i.base_version_id) for i in tx.items)
        if have == wanted and tx.expires_at > now:
            return tx
    return None


async def prepare(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore,
    setup: SigningSetup,
    signer: User,
    document_ids: Sequence[int],
    method: str,
    lifetime: timedelta,
) -> Prepared:
    """Open (or reuse) a transaction over `document_ids` for `signer`, in the caller's session."""
    if not 1 <= len(document_ids) <= MAX_BATCH:
        raise SigningFlowError(
            f"Chọn từ 1 đến {MAX_BATCH} văn bản để ký.",
            f"Select between 1 and {MAX_BATCH} documents to sign.",
        )
    if not setup.has_key(signer.username) and method == "passkey":
        raise SigningFlowError(
            "Bạn chưa có khóa ký số trên máy chủ. Hãy liên hệ quản trị viên.",
            "You have no server-held signing key. Please contact your administrator.",
        )
    documents = await signable(db, signer, sorted(set(document_ids)), clock=clock)
    if len(documents) > 1:
        setup.warm_workers()  # the batch's PDF work will run there once it is confirmed
    now = clock.now()
    reuse = await _reusable(db, signer=signer, method=method, documents=documents, now=now)
    if reuse is not None:
        return Prepared(reuse, reused=True)
    if method == "sim":
        open_sim = await db.scalar(
            select(SigningTransaction.id).where(
                SigningTransaction.signer_id == signer.id,
                SigningTransaction.method == "sim",
                SigningTransaction.status.in_(OPEN_STATES),
            )
        )
        if open_sim is not None:
            raise SigningFlowError(
                "Bạn đang có một yêu cầu ký qua SIM chưa xong. Hãy hoàn tất hoặc hủy nó trước.",
                "You already have a SIM signing request pending. Finish or cancel it first.",
            )
    tx_id = secrets.token_hex(16)
    cert = setup.cert(signer.username)
    image = setup.signature_image(signer.username)
    items: list[SigningItem] = []
    for position, document in enumerate(documents):
        _file_id, version_id, sha = _main(document)
        pdf = await blobs.get(sha)
        draft = await db.get_one(Draft, document.id)
        try:
            prepared = await prepare_signature(
                pdf=pdf,
                signer_cert=cert,
                chain=setup.chain,
                appearance=LeaderAppearance(
                    signature_image=image, page=draft.sign_page, box=drafts.leader_box(draft)
                ),
                level=PadesLevel.B_LT,
                certify=True,
                reason=await signature_reason(db, draft),
            )
        except SigningError as exc:
            raise SigningFlowError(
                f"Không chuẩn bị được chữ ký cho văn bản “{document.subject}”: {exc.message_vi}",
                f"Could not prepare the signature of {document.subject!r}: {exc.message_en}",
            ) from exc
        items.append(
            SigningItem(
                position=position,
                document_id=document.id,
                base_version_id=version_id,
                base_sha256=sha,
                dtbs=prepared.dtbs,
                dtbs_hash=prepared.dtbs_hash.hex(),
                control_code=prepared.control_code,
                state_sha256=await blobs.put(prepared.state),
            )
        )
    expires_at = (now + lifetime).replace(microsecond=0)
    digest = digest_of([i.dtbs_hash for i in items])
    challenge = commitment(
        tx_id=tx_id,
        dtbs_digest=digest,
        version_hashes=[i.base_sha256 for i in items],
        expires_at=expires_at,
    )
    code = (
        items[0].control_code if len(items) == 1 else control_code(dtbs_hash=bytes.fromhex(digest))
    )
    tx = SigningTransaction(
        id=tx_id,
        agency_id=signer.agency_id,
        signer_id=signer.id,
        method=method,
        status=TxState.PREPARED,
        dtbs_digest=digest,
        challenge=challenge.hex(),
        control_code=code,
        created_at=now,
        expires_at=expires_at,
        updated_at=now,
        items=items,
    )
    db.add(tx)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="signing.prepared",
        actor_id=signer.id,
        object_type="signing_transaction",
        object_id=tx_id,
        detail={
            "method": method,
            "documents": [i.document_id for i in items],
            "dtbs_digest": digest,
            "expires_at": expires_at.isoformat(),
        },
    )
    return Prepared(tx, reused=False)


async def cancel(db: AsyncSession, *, clock: Clock, tx: SigningTransaction, actor_id: int) -> bool:
    moved = await move(
        db,
        tx.id,
        clock=clock,
        from_states=(TxState.PREPARED, TxState.AWAITING),
        to=TxState.CANCELLED,
    )
    if moved:
        await audit.record(
            db,
            clock=clock,
            action="signing.cancelled",
            actor_id=actor_id,
            object_type="signing_transaction",
            object_id=tx.id,
        )
    return moved


async def expire_if_due(db: AsyncSession, *, clock: Clock, tx: SigningTransaction) -> bool:
    due = tx.status in (TxState.PREPARED, TxState.AWAITING) and tx.expires_at <= clock.now()
    if not due or not await move(
        db, tx.id, clock=clock, from_states=(TxState.PREPARED, TxState.AWAITING), to=TxState.EXPIRED
    ):
        return False
    await audit.record(
        db,
        clock=clock,
        action="signing.expired",
        actor_id=tx.signer_id,
        object_type="signing_transaction",
        object_id=tx.id,
    )
    return True


async def sweep(db: AsyncSession, *, clock: Clock) -> list[str]:
    """Expire every transaction past its expiry that nobody confirmed; returns their ids."""
    due = list(
        await db.scalars(
            select(SigningTransaction).where(
                SigningTransaction.status.in_((TxState.PREPARED, TxState.AWAITING)),
                SigningTransaction.expires_at <= clock.now(),
            )
        )
    )
    return [tx.id for tx in due if await expire_if_due(db, clock=clock, tx=tx)]
