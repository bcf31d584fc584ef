"""SQL tables. Domain logic lives in the modules named after each concept, not here."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from backend.core.clock import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A moment: `timestamp with time zone`, always read back as an aware UTC datetime.

    PostgreSQL returns aware values; SQLite keeps no zone and returns naive UTC, which this
    type makes aware, so no code needs to know which database it runs on. Values are written as
    UTC; a naive value is taken to be UTC already (the clock only gives aware ones).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Role(enum.StrEnum):
    ADMIN = "admin"
    LEADER = "leader"
    # Chánh Văn phòng: receives what the clerk registered and routes it, or puts it before a
    # leader for direction (trình lãnh đạo).
    OFFICE_CHIEF = "office_chief"
    UNIT_HEAD = "unit_head"
    SPECIALIST = "specialist"
    CLERK = "clerk"


class Agency(Base):
    """A state body with its mã định danh (QCVN 102:2016 `NNN.NN.NN.Xnn`)."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # Used in document symbols: "QĐ-UBND", "STC-BCTC".
    short_name: Mapped[str] = mapped_column(String(32))
    # Địa danh of the date line of its documents (Decree 30): "Sông Hồng", "Hà Nội".
    place_name: Mapped[str] = mapped_column(String(64), default="", server_default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # 1 = province/ministry level … 4 = the lowest level the directory knows.
    level: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # An agency with its own people and registers in this system; False for the agencies that
    # only come from the national axis' directory (getAgenciesList), the recipients we send to.
    hosted: Mapped[bool] = mapped_column(default=True)
    # The directory's own ids (`id`, `pid` of getAgenciesList), its e-mail, the other code of a
    # QĐ 20 pair (code102 / oldCode), and whether the directory has since deleted the agency.
    axis_id: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    axis_parent_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    mail: Mapped[str] = mapped_column(String(255), default="", server_default="")
    other_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    directory_deleted: Mapped[bool] = mapped_column(default=False)
    directory_synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Lower-case, diacritics folded name + code: what the recipient picker searches.
    search_key: Mapped[str] = mapped_column(String(512), default="", server_default="")

    parent: Mapped[Agency | None] = relationship(remote_side=[id])

    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 4", name="level_range"),)


class Unit(Base):
    """A unit (phòng ban) of an agency. Merged units stay, pointing at their successor."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    merged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    agency: Mapped[Agency] = relationship()

    __table_args__ = (UniqueConstraint("agency_id", "short_name", name="agency_short_name"),)

    @property
    def active(self) -> bool:
        return self.merged_into_id is None


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    # Chức vụ, e.g. "Phó Chủ tịch UBND tỉnh".
    title: Mapped[str] = mapped_column(String(255), default="")
    # A leader who signs in the name of another agency than the one whose directory lists them
    # (the Chủ tịch, listed with the office, signs "TM. Ủy ban nhân dân"): documents they sign
    # take that agency's symbol, seal caption and place name. None: their own agency.
    signs_for_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # E.164 (+84…), for SIM-PKI signing.
    phone: Mapped[str | None] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # WebAuthn user handle (base64url of 32 random bytes): never the username, never PII.
    passkey_handle: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)

    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id])
    unit: Mapped[Unit | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(row.role) for row in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'leader', 'office_chief', 'unit_head', 'specialist', 'clerk')",
            name="known_role",
        ),
    )


class Invitation(Base):
    """A one-time enrolment link. Only the SHA-256 of the token is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Passkey(Base):
    """A WebAuthn credential (discoverable, user-verified) that signs a person in."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # base64url; WebAuthn allows credential ids of up to 1023 bytes.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # An unsigned 32-bit counter: BigInteger so PostgreSQL holds all of it.
    sign_count: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64))
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ServiceAccount(Base):
    """A machine client of the JSON API (a provincial platform), acting within one agency."""

    __tablename__ = "service_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    agency: Mapped[Agency] = relationship()

    __table_args__ = (UniqueConstraint("agency_id", "name", name="agency_name"),)


class ApiToken(Base):
    """A bearer JWT issued to a service account. The token itself is never stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_account_id: Mapped[int] = mapped_column(ForeignKey("service_accounts.id"), index=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    kid: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Append-only, hash-chained: each row's hash covers its content and the previous hash.

    Database triggers (see the first migration) refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)
