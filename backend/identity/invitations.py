"""Enrolment invitations: open one (it must be unused, unrevoked, unexpired), use it, revoke it.

Issuing lives in `backend.identity.users.invite` (the CLI uses it too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.core import audit
from backend.core.audit import utc_naive
from backend.core.clock import Clock
from backend.core.errors import EofficeError, NotFoundError
from backend.core.models import Invitation, User
from backend.identity.users import hash_token


class InvitationError(EofficeError):
    status_code = 410


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    user: User


def _naive(at: datetime) -> datetime:
    return utc_naive(at)


async def open_invitation(db: AsyncSession, *, clock: Clock, token: str) -> OpenInvitation:
    invitation = await db.scalar(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    )
    if invitation is None:
        raise NotFoundError(
            "Liên kết đăng ký không đúng. Hãy kiểm tra lại hoặc đề nghị quản trị viên gửi liên "
            "kết mới.",
            "This enrolment link is not valid. Check it or ask your administrator for a new one.",
        )
    if invitation.used_at is not None:
        raise InvitationError(
            "Liên kết đăng ký này đã được sử dụng. Mỗi liên kết chỉ dùng được một lần; hãy đăng "
            "nhập bằng khóa truy cập hoặc đề nghị quản trị viên gửi liên kết mới.",
            "This enrolment link was already used. Each link works once: sign in with your "
            "passkey or ask your administrator for a new link.",
        )
    if invitation.revoked_at is not None:
        raise InvitationError(
            "Liên kết đăng ký này đã bị thu hồi. Hãy đề nghị quản trị viên gửi liên kết mới.",
            "This enrolment link was revoked. Ask your administrator for a new one.",
        )
    if _naive(invitation.expires_at) <= _naive(clock.now()):
        raise InvitationError(
            "Liên kết đăng ký đã hết hạn (sau 72 giờ). Hãy đề nghị quản trị viên gửi liên kết mới.",
            "This enrolment link has expired (after 72 hours). Ask your administrator for a new "
            "one.",
        )
    user = await db.get(User, invitation.user_id, options=[selectinload(User.agency)])
    assert user is not None
    if not user.is_active:
        raise InvitationError("Tài khoản này đã bị khóa.", "This account is disabled.")
    return OpenInvitation(invitation=invitation, user=user)


async def use(db: AsyncSession, *, clock: Clock, invitation: Invitation, ip: str = "") -> None:
    # Conditional update: two enrolments racing on one link cannot both win.
    result = await db.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvitationError(
            "Liên kết đăng ký này đã được sử dụng.", "This enrolment link was already used."
        )
    await audit.record(
        db,
        clock=clock,
        action="invitation.used",
        actor_id=invitation.user_id,
        object_type="invitation",
        object_id=invitation.id,
        ip=ip,
    )


async def revoke(
    db: AsyncSession, *, clock: Clock, invitation_id: int, actor_id: int, agency_id: int
) -> Invitation:
    invitation = await db.get(Invitation, invitation_id)
    user = await db.get(User, invitation.user_id) if invitation else None
    if invitation is None or user is None or user.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy lời mời.", "Invitation not found.")
    if invitation.used_at is None and invitation.revoked_at is None:
        invitation.revoked_at = clock.now()
        await audit.record(
            db,
            clock=clock,
            action="invitation.revoked",
            actor_id=actor_id,
            object_type="invitation",
            object_id=invitation.id,
            detail={"user_id": user.id},
        )
    return invitation


async def pending_for(db: AsyncSession, *, clock: Clock, user_ids: list[int]) -> list[Invitation]:
    """Invitations that could still be used, newest first."""
    if not user_ids:
        return []
    rows = await db.scalars(
        select(Invitation)
        .where(
            Invitation.user_id.in_(user_ids),
            Invitation.used_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.id.desc())
    )
    now = _naive(clock.now())
    return [row for row in rows if _naive(row.expires_at) > now]
