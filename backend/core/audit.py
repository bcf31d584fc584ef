"""The audit log: append-only, hash-chained evidence of every action that matters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.clock import Clock
from backend.core.models import AuditEntry

GENESIS = "0" * 64


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": utc_naive(entry.at).isoformat(),
            "actor": entry.actor_id,
            "action": entry.action,
            "object": [entry.object_type, entry.object_id],
            "detail": entry.detail,
            "ip": entry.ip,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The hash `entry` gets after the entry whose hash is `prev_hash`: for a writer that
    appends many entries at once (the demo's history) and must keep the chain `record` keeps."""
    return _digest(prev_hash, entry)


async def record(
    db: AsyncSession,
    *,
    clock: Clock,
    action: str,
    actor_id: int | None = None,
    object_type: str = "",
    object_id: str | int = "",
    detail: dict[str, object] | None = None,
    ip: str = "",
) -> AuditEntry:
    """Append one entry in the caller's transaction: it commits or rolls back with the change."""
    if db.get_bind().dialect.name == "postgresql":
        # Serialise appenders so the chain never forks; released at commit.
        await db.execute(text("SELECT pg_advisory_xact_lock(7431001)"))
    prev = await db.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    entry = AuditEntry(
        at=clock.now(),
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip=ip,
        prev_hash=prev or GENESIS,
    )
    entry.hash = _digest(entry.prev_hash, entry)
    db.add(entry)
    await db.flush()
    return entry


def utc_naive(at: datetime) -> datetime:
    """The form a moment is hashed in (naive UTC), fixed since the first entry: the chain
    written before the UTC column type must still verify."""
    return at if at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_bad_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_bad_id is None


async def verify_chain(db: AsyncSession) -> ChainReport:
    prev = GENESIS
    count = 0
    for entry in await db.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        if entry.prev_hash != prev or _digest(prev, entry) != entry.hash:
            return ChainReport(entries=count, first_bad_id=entry.id)
        prev = entry.hash
    return ChainReport(entries=count, first_bad_id=None)
