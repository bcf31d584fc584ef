"""A person's push subscriptions: one per device, replaced when the browser renews it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import Clock
from backend.core.errors import NotFoundError, ValidationError
from backend.push.tables import PushSubscription

B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _invalid() -> ValidationError:
    return ValidationError(
        "Thông tin đăng ký nhận thông báo không hợp lệ.", "Invalid push subscription."
    )


async def subscribe(
    db: AsyncSession, *, clock: Clock, user_id: int, subscription: dict[str, object], device: str
) -> PushSubscription:
    endpoint = subscription.get("endpoint")
    keys = subscription.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, dict):
        raise _invalid()
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    parts = urlsplit(endpoint)
    if (
        parts.scheme not in {"https", "http"}
        or not parts.hostname
        or len(endpoint) > 2048
        or not isinstance(p256dh, str)
        or not isinstance(auth, str)
        or not B64URL.match(p256dh)
        or not B64URL.match(auth)
        or len(p256dh) > 128
        or len(auth) > 64
    ):
        raise _invalid()
    row = await db.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if row is None:
        row = PushSubscription(endpoint=endpoint, created_at=clock.now())
        db.add(row)
    # An endpoint belongs to one browser profile: whoever subscribes it last owns it.
    row.user_id, row.p256dh, row.auth, row.device = user_id, p256dh, auth, device[:64]
    await db.flush()
    return row


async def unsubscribe(db: AsyncSession, *, user_id: int, endpoint: str = "", id: int = 0) -> None:
    clause = PushSubscription.id == id if id else PushSubscription.endpoint == endpoint
    result = await db.execute(
        delete(PushSubscription).where(clause, PushSubscription.user_id == user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError("Không tìm thấy thiết bị.", "No such device.")


async def of_user(db: AsyncSession, user_id: int) -> Sequence[PushSubscription]:
    return list(
        await db.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.id)
        )
    )
