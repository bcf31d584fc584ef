"""SQL tables of Web Push: a person's subscriptions (one per device) and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.models import Base, UtcDateTime


class PushSubscription(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    device: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PushOutbox(Base):
    """A notice for one person, written in the same transaction as the change it announces.

    The row is the durable truth; the Redis stream is only the fast path. A row is finished when
    `delivered_at` (every subscription answered) or `dead_at` (out of attempts) is set.
    """

    __tablename__ = "push_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    ttl: Mapped[int] = mapped_column(Integer, default=86400)
    topic: Mapped[str] = mapped_column(String(32), default="")
    # Scheduled notices (digests, escalations) carry a key so a second scheduler run adds none.
    dedupe_key: Mapped[str | None] = mapped_column(String(96), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    relayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Subscription ids already served, so a retry sends only to the rest.
    delivered_to: Mapped[list[int]] = mapped_column(JSON, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_push_outbox_pending", "delivered_at", "dead_at", "not_before"),)
