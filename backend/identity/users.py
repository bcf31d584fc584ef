"""People and their one-time enrolment invitations."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import Clock
from backend.core.errors import ConflictError, NotFoundError, ValidationError
from backend.core.models import Agency, Invitation, Role, Unit, User, UserRole

INVITATION_LIFETIME = timedelta(hours=72)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
PHONE = re.compile(r"^\+84\d{9,10}$")


def normalise_phone(phone: str) -> str:
    """Vietnamese mobile numbers to E.164: 0912345678 → +84912345678."""
    digits = re.sub(r"[\s.\-()]", "", phone)
    if digits.startswith("0"):
        digits = "+84" + digits[1:]
    elif digits.startswith("84"):
        digits = "+" + digits
    if not PHONE.match(digits):
        raise ValidationError(
            f"Số điện thoại “{phone}” không hợp lệ (ví dụ 0912 345 678).",
            f"Invalid phone number {phone!r} (e.g. 0912 345 678).",
        )
    return digits


async def create_user(
    db: AsyncSession,
    *,
    clock: Clock,
    agency: Agency,
    username: str,
    full_name: str,
    roles: set[Role],
    title: str = "",
    unit: Unit | None = None,
    phone: str | None = None,
    is_demo: bool = False,
    actor_id: int | None = None,
    signs_for: Agency | None = None,
) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise ValidationError(
            "Tên đăng nhập chỉ gồm chữ thường không dấu, số và . _ - (2–63 ký tự).",
            "Username: lowercase ASCII letters, digits and . _ - (2–63 characters).",
        )
    if not full_name.strip():
        raise ValidationError("Họ và tên không được để trống.", "Full name is required.")
    if not roles:
        raise ValidationError("Người dùng cần ít nhất một vai trò.", "A user needs a role.")
    if unit is not None and unit.agency_id != agency.id:
        raise ValidationError(
            "Phòng ban không thuộc cơ quan đã chọn.", "The unit belongs to another agency."
        )
    if await db.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(
            f"Tên đăng nhập {username} đã tồn tại.", f"Username {username} already exists."
        )
    user = User(
        agency_id=agency.id,
        unit_id=unit.id if unit else None,
        username=username,
        full_name=full_name.strip(),
        title=title.strip(),
        phone=normalise_phone(phone) if phone else None,
        is_demo=is_demo,
        signs_for_agency_id=signs_for.id if signs_for is not None else None,
        created_at=clock.now(),
        role_rows=[UserRole(role=role.value) for role in sorted(roles)],
    )
    db.add(user)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="user.created",
        actor_id=actor_id,
        object_type="user",
        object_id=user.id,
        detail={"username": username, "roles": sorted(r.value for r in roles)},
    )
    return user


@dataclass(frozen=True)
class IssuedInvitation:
    invitation_id: int
    token: str  # shown once; only its hash is stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invite(
    db: AsyncSession, *, clock: Clock, user: User, actor_id: int | None = None
) -> IssuedInvitation:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = Invitation(
        user_id=user.id,
        token_hash=hash_token(token),
        created_by_id=actor_id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.add(invitation)
    await db.flush()
    await audit.record(
        db,
        clock=clock,
        action="invitation.created",
        actor_id=actor_id,
        object_type="user",
        object_id=user.id,
        detail={"invitation": invitation.id, "expires_at": invitation.expires_at.isoformat()},
    )
    return IssuedInvitation(invitation_id=invitation.id, token=token)


def invitation_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/enrol/{token}"


async def user_by_username(db: AsyncSession, username: str) -> User:
    user = await db.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFoundError(f"Không có người dùng {username}.", f"No user named {username}.")
    return user
