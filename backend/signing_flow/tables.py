"""SQL tables of the signing flow: drafts awaiting a signer, signing transactions, comments."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, UtcDateTime

# Transaction states that still hold a claim on the documents and on the signer.


class TxState(enum.StrEnum):
    """Where a signing transaction is: prepared (DTBS computed) → awaiting (the signer's
    confirmation: passkey or SIM PIN) → signing (values being embedded) → one of the ends."""

    PREPARED = "prepared"
    AWAITING = "awaiting"
    SIGNING = "signing"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


OPEN_STATES = (TxState.PREPARED, TxState.AWAITING, TxState.SIGNING)


class Draft(Base):
    """Who drafted an outgoing document and which leader is to sign it."""

    __tablename__ = "document_drafts"

    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The leader's signature position: zero-based page and box (PDF points), kept for the preview.
    sign_page: Mapped[int] = mapped_column(Integer, default=0)
    sign_box: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The incoming document this draft answers ("Dự thảo trả lời văn bản số …"), if any.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    # The last time the author sent it (again) to the signer; the author's list sorts by it.
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The authority it is to be signed under (None: drafted before the agency had signing rules,
    # signed by a leader in their own name).
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("signing_grants.id"))


class DocumentComment(Base):
    """A comment (ý kiến) on a document; `kind` "return" is the reason a draft was sent back,
    "resubmit" the author's note when sending a revised draft again."""

    __tablename__ = "document_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), default="comment")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Idempotency key from the client (an offline queue's UUID): a replay creates nothing new.
    client_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("uq_document_comments_client_key", "author_id", "client_key", unique=True),
    )


class SigningTransaction(Base):
    """One confirmation by one signer, covering one or more documents (`items`).

    States: prepared → awaiting → signing → completed | failed | expired | cancelled.
    """

    __tablename__ = "signing_transactions"

    # Random, unguessable; it is part of what the passkey confirmation commits to.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(16))  # passkey | sim | seal
    status: Mapped[str] = mapped_column(String(16))
    # SHA-256 over the sorted DTBS hashes of all items (hex): what one confirmation covers.
    dtbs_digest: Mapped[str] = mapped_column(String(64))
    # SHA-256 over (id, dtbs_digest, document version hashes, expiry): the WebAuthn challenge.
    challenge: Mapped[str] = mapped_column(String(64))
    control_code: Mapped[str] = mapped_column(String(8))
    mss_trans_id: Mapped[str] = mapped_column(String(64), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A SIM batch sends one transaction per document, one after another.
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)

    items: Mapped[list[SigningItem]] = relationship(
        order_by="SigningItem.position", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_signing_transactions_status", "status", "expires_at"),
        # One pending SIM transaction per signer (vendor practice, and the phone shows one).
        Index(
            "uq_signing_transactions_open_sim",
            "signer_id",
            unique=True,
            sqlite_where=text("method = 'sim' AND status IN ('prepared', 'awaiting', 'signing')"),
            postgresql_where=text(
                "method = 'sim' AND status IN ('prepared', 'awaiting', 'signing')"
            ),
        ),
    )


class SigningItem(Base):
    """One document of a transaction: the version it signs, its DTBS and its outcome."""

    __tablename__ = "signing_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("signing_transactions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    base_version_id: Mapped[int] = mapped_column(ForeignKey("file_versions.id"))
    base_sha256: Mapped[str] = mapped_column(String(64))
    # The DER signed attributes the key signs; their SHA-256 is `dtbs_hash`.
    dtbs: Mapped[bytes] = mapped_column(LargeBinary)
    dtbs_hash: Mapped[str] = mapped_column(String(64))
    control_code: Mapped[str] = mapped_column(String(8))
    # The prepared signature state (pyHanko interrupted signing), kept in the blob store.
    state_sha256: Mapped[str] = mapped_column(String(64))
    # The raw signature value once the key produced it: a finish can resume after a crash.
    signature_value: Mapped[bytes | None] = mapped_column(LargeBinary)
    result: Mapped[str] = mapped_column(String(16), default="pending")  # pending|signed|failed
    result_version_id: Mapped[int | None] = mapped_column(ForeignKey("file_versions.id"))
    error: Mapped[str] = mapped_column(Text, default="")


class SigningBatch(Base):
    """A SIM-PKI batch: the documents are confirmed one by one on the phone (one pending SIM
    request per person), each in its own transaction. The queue is here, in SQL, so any server
    process can carry it on. States: running → finished | cancelled."""

    __tablename__ = "signing_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # sim
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    items: Mapped[list[SigningBatchItem]] = relationship(
        order_by="SigningBatchItem.position", lazy="selectin"
    )


class SigningBatchItem(Base):
    """One queued document of a batch: `queued` until its transaction is opened (`started`),
    or `cancelled` / `failed` (with `error`) without one."""

    __tablename__ = "signing_batch_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("signing_batches.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("signing_transactions.id"))
    error: Mapped[str] = mapped_column(Text, default="")


class SignForm(enum.StrEnum):
    """How a person signs for the agency (Decree 30/2020/NĐ-CP, Article 13 and Appendix I)."""

    HEAD = "head"  # the head, in their own name (TM. <collective> above the title in a UBND)
    KT = "kt"  # ký thay: a deputy for the head — "KT. CHỦ TỊCH" / "PHÓ CHỦ TỊCH"
    Q = "q"  # quyền: the acting head — "Q. CHỦ TỊCH"
    TL = "tl"  # thừa lệnh: a unit head by the agency's rules — "TL. CHỦ TỊCH" / "CHÁNH VĂN PHÒNG"
    TUQ = "tuq"  # thừa ủy quyền: by a written authorisation with a period and a scope


class SigningGrant(Base):
    """One person's authority to sign the agency's outgoing documents in one form.

    `types` lists the document type codes it covers ("" = every type); `valid_from` and
    `valid_until` bound it in Vietnam dates (inclusive; None = open). The lines it prints are
    `title` (the holder's own, e.g. "PHÓ CHỦ TỊCH") under "<FORM>. <head_title>". A grant is
    never edited: it is revoked and a new one given, each audited."""

    __tablename__ = "signing_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    form: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(128))
    head_title: Mapped[str] = mapped_column(String(128))
    types: Mapped[str] = mapped_column(String(255), default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # The written decision behind it ("Quyết định số 12/QĐ-UBND ngày 02/01/2026").
    decision_ref: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class Absence(Base):
    """A leader away (công tác, nghỉ phép) from `starts_on` to `ends_on` (Vietnam dates,
    inclusive): the documents put before them and their "Chờ ký" go to `deputy_id` meanwhile."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Cancelled before it began, or ended early (ends_on then moves back to that day).
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
