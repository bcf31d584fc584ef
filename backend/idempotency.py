"""Idempotent form posts: an action queued on a device (offline, or on a flaky network) is sent
again with the same key until the device sees an answer; the server does it once.

The key is the client's (a UUID made when the person pressed the button), scoped to the person.
`claim` inserts (user_id, key) in the same transaction as the action, before it: a second
request with the key fails on the primary key (PostgreSQL makes a concurrent one wait for the
first to commit), its transaction rolls back, and `first_outcome` gives the answer the first
request got. A failed action rolls its claim back with it, so the key stays usable for a retry.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import Clock
from backend.errors import ValidationError
from backend.models import Base

FORM_FIELD = "client_key"
HEADER = "idempotency-key"
_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the key was used for (the request path) and where its first answer sent the person.
    scope: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def parse_key(field: str | None, header: str | None) -> str | None:
    """The request's key from the form field or the header (they must agree); None without one."""
    field, header = (field or "").strip(), (header or "").strip()
    if field and header and field != header:
        raise ValidationError(
            "Mã chống gửi trùng không khớp.", "The form's client_key and Idempotency-Key differ."
        )
    key = field or header
    if not key:
        return None
    if not _KEY.fullmatch(key):
        raise ValidationError("Mã chống gửi trùng không hợp lệ.", "Invalid idempotency key.")
    return key


async def claim(
    db: AsyncSession, *, clock: Clock, user_id: int, key: str, scope: str, outcome: str
) -> None:
    """Record the key before the action; raises IntegrityError if it was used already."""
    db.add(
        IdempotencyKey(
            user_id=user_id, key=key, scope=scope[:200], outcome=outcome[:500],
            created_at=clock.now(),
        )
    )  # fmt: skip
    await db.flush()


async def first_outcome(db: AsyncSession, *, user_id: int, key: str, scope: str) -> str | None:
    """The answer the key's first request got; None if the key is unknown."""
    row = await db.get(IdempotencyKey, (user_id, key))
    if row is None:
        return None
    if row.scope != scope[:200]:
        raise ValidationError(
            "Mã chống gửi trùng này đã dùng cho một thao tác khác.",
            "This idempotency key was used for another action.",
        )
    return row.outcome
