"""What an administrator does to people of their agency: list, create and invite, end sessions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core import audit
from backend.core.clock import Clock
from backend.core.errors import NotFoundError, ValidationError
from backend.core.models import (
    Agency,
    ApiToken,
    Invitation,
    Passkey,
    Role,
    ServiceAccount,
    Unit,
    User,
)
from backend.identity import invitations, sessions, users


@dataclass(frozen=True)
class AgencyPeople:
    users: list[User]
    units: list[Unit]
    passkeys: dict[int, int]
    invitations: dict[int, list[Invitation]]


async def people(db: AsyncSession, *, clock: Clock, agency_id: int) -> AgencyPeople:
    members = list(
        await db.scalars(select(User).where(User.agency_id == agency_id).order_by(User.full_name))
    )
    units = list(
        await db.scalars(
            select(Unit)
            .where(Unit.agency_id == agency_id, Unit.merged_into_id.is_(None))
            .order_by(Unit.name)
        )
    )
    ids = [u.id for u in members]
    counts: dict[int, int] = {}
    if ids:
        rows = await db.execute(
            select(Passkey.user_id, func.count())
            .where(Passkey.user_id.in_(ids))
            .group_by(Passkey.user_id)
        )
        counts = {int(user_id): int(n) for user_id, n in rows.all()}
    pending: dict[int, list[Invitation]] = {}
    for invitation in await invitations.pending_for(db, clock=clock, user_ids=ids):
        pending.setdefault(invitation.user_id, []).append(invitation)
    return AgencyPeople(users=members, units=units, passkeys=counts, invitations=pending)


async def member(db: AsyncSession, *, agency_id: int, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None or user.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy người dùng.", "User not found.")
    return user


def parse_roles(values: Iterable[str]) -> set[Role]:
    try:
        return {Role(v) for v in values}
    except ValueError:
        raise ValidationError("Vai trò không hợp lệ.", "Unknown role.") from None


async def create_and_invite(
    db: AsyncSession,
    *,
    clock: Clock,
    agency_id: int,
    actor_id: int,
    username: str,
    full_name: str,
    title: str,
    unit_id: int | None,
    roles: set[Role],
    phone: str | None,
) -> tuple[User, users.IssuedInvitation]:
    agency = await db.get_one(Agency, agency_id)
    unit = None
    if unit_id is not None:
        unit = await db.get(Unit, unit_id)
        if unit is None or unit.agency_id != agency_id:
            raise ValidationError("Phòng ban không hợp lệ.", "Unknown unit.")
    user = await users.create_user(
        db,
        clock=clock,
        agency=agency,
        username=username,
        full_name=full_name,
        title=title,
        roles=roles,
        unit=unit,
        phone=phone,
        actor_id=actor_id,
    )
    return user, await users.invite(db, clock=clock, user=user, actor_id=actor_id)


async def end_sessions(
    db: AsyncSession,
    redis: aioredis.Redis,
    *,
    clock: Clock,
    user: User,
    actor_id: int,
    ip: str = "",
) -> int:
    ended = await sessions.end_all(redis, user_id=user.id)
    await audit.record(
        db,
        clock=clock,
        action="session.ended",
        actor_id=actor_id,
        object_type="user",
        object_id=user.id,
        detail={"how": "ended_by_admin", "sessions": ended},
        ip=ip,
    )
    return ended


@dataclass(frozen=True)
class ServiceAccounts:
    accounts: list[ServiceAccount]
    tokens: dict[int, list[ApiToken]]


async def service_accounts(db: AsyncSession, *, agency_id: int) -> ServiceAccounts:
    accounts = list(
        await db.scalars(
            select(ServiceAccount)
            .where(ServiceAccount.agency_id == agency_id)
            .order_by(ServiceAccount.name)
        )
    )
    tokens: dict[int, list[ApiToken]] = {a.id: [] for a in accounts}
    if accounts:
        for token in await db.scalars(
            select(ApiToken)
            .where(ApiToken.service_account_id.in_(list(tokens)))
            .order_by(ApiToken.id.desc())
        ):
            tokens[token.service_account_id].append(token)
    return ServiceAccounts(accounts=accounts, tokens=tokens)


async def service_account(db: AsyncSession, *, agency_id: int, account_id: int) -> ServiceAccount:
    account = await db.get(ServiceAccount, account_id)
    if account is None or account.agency_id != agency_id:
        raise NotFoundError("Không tìm thấy tài khoản dịch vụ.", "Service account not found.")
    return account
