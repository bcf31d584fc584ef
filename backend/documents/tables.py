"""SQL tables for documents, their files and immutable file versions, and register counters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.core.models import Base, UtcDateTime


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The agency whose registers hold this document.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    direction: Mapped[str] = mapped_column(String(10))
    type_code: Mapped[str] = mapped_column(String(16))
    # Số và ký hiệu as issued: number 123, symbol "QĐ-UBND" → "123/QĐ-UBND".
    number: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(64), default="")
    issue_date: Mapped[date | None] = mapped_column(Date)
    issue_place: Mapped[str] = mapped_column(String(128), default="")
    issuer_name: Mapped[str] = mapped_column(String(255), default="")
    # Mã định danh of the issuing agency when known; `issuer_key` is what duplicates match on.
    issuer_code: Mapped[str] = mapped_column(String(13), default="")
    issuer_key: Mapped[str] = mapped_column(String(255), default="")
    subject: Mapped[str] = mapped_column(Text)
    signer_name: Mapped[str] = mapped_column(String(255), default="")
    signer_title: Mapped[str] = mapped_column(String(255), default="")
    signer_competence: Mapped[str] = mapped_column(String(8), default="")
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[str] = mapped_column(Text, default="")
    # Register: số đến (incoming) or the outgoing number, per agency, year and series.
    register_year: Mapped[int | None] = mapped_column(Integer)
    register_series: Mapped[str] = mapped_column(String(32), default="")
    register_number: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # A paper copy (or a second arrival) of a document already registered reuses its số đến.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    signature_check: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    files: Mapped[list[DocumentFile]] = relationship(
        back_populates="document", order_by="DocumentFile.position", lazy="selectin"
    )

    __table_args__ = (
        # Search's newest matches (and any "newest first" over all directions): read backwards.
        Index("ix_documents_agency_created", "agency_id", "created_at", "id"),
        Index(
            "uq_documents_register_number",
            "agency_id",
            "direction",
            "register_year",
            "register_series",
            "register_number",
            unique=True,
            sqlite_where=text("register_number IS NOT NULL AND duplicate_of_id IS NULL"),
            postgresql_where=text("register_number IS NOT NULL AND duplicate_of_id IS NULL"),
        ),
        Index(
            "uq_documents_incoming_identity",
            "agency_id",
            "issuer_key",
            "number",
            "symbol",
            "issue_date",
            unique=True,
            sqlite_where=text("direction = 'incoming' AND duplicate_of_id IS NULL"),
            postgresql_where=text("direction = 'incoming' AND duplicate_of_id IS NULL"),
        ),
        # Keyset pagination of the lists: newest first within an agency.
        Index("ix_documents_agency_listing", "agency_id", "direction", "created_at", "id"),
        Index("ix_documents_status", "agency_id", "status"),
    )

    @property
    def number_symbol(self) -> str:
        # Decree 30 numbers start at 01: one-digit numbers are written with a leading zero.
        if self.number is None:
            return self.symbol
        return f"{self.number:02d}/{self.symbol}" if self.symbol else f"{self.number:02d}"


class DocumentFile(Base):
    """The main PDF, an attachment (phụ lục), or an original scanned image."""

    __tablename__ = "document_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # main | attachment | scan-original
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)

    document: Mapped[Document] = relationship(back_populates="files")
    versions: Mapped[list[FileVersion]] = relationship(
        order_by="FileVersion.version", lazy="selectin"
    )

    @property
    def current(self) -> FileVersion:
        return self.versions[-1]


class FileVersion(Base):
    """Immutable: a signature or a stamp adds a version; nothing is ever overwritten."""

    __tablename__ = "file_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("document_files.id"))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64))
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(255))
    derived_from: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The signature check of this version when it was signed here (attachments sealed at
    # issuance); None when never checked.
    signature_check: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # B-LTA versions: until when the newest document timestamp proves existence (its TSA
    # certificate's end); the archival renewal adds a timestamp before then. None otherwise,
    # and on a version a renewal has superseded.
    archive_until: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("file_id", "version", name="file_version"),
        Index(
            "ix_file_versions_archive_until",
            "archive_until",
            postgresql_where=text("archive_until IS NOT NULL"),
            sqlite_where=text("archive_until IS NOT NULL"),
        ),
    )


class RegisterCounter(Base):
    """The last number given in one register series of one agency in one year."""

    __tablename__ = "register_counters"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
