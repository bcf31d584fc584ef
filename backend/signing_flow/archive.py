"""Archival renewal of issued documents (B-LTA): a file version whose newest document
timestamp stops proving existence within the margin gets a new document timestamp, stored as a
new immutable version. Runs as a periodic job (`RENEW_JOB`, a batch every `EVERY`, in one
process at a time) or by `eoffice archive renew`.

A renewal that does not push the horizon further (the TSA's certificate ends no later than the
old one) is not stored: it is audited for the administrator, who must point eoffice at a TSA
with a newer certificate, and the version is not retried until then."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core import audit
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.jobs import ClaimedJob
from backend.documents.tables import DocumentFile, FileVersion
from backend.signing_flow.context import SigningContext
from signing import SigningError, SigningServices, archive_horizon, renew_archive

log = logging.getLogger(__name__)

DEFAULT_MARGIN = timedelta(days=365)
BATCH = 20
RENEW_JOB = "archive.renew"
EVERY = timedelta(minutes=10)


async def due(db: AsyncSession, *, until: datetime, limit: int = BATCH) -> list[FileVersion]:
    """Versions whose archive horizon is before ``until``.

    Only a file's newest version carries a horizon (a renewal clears the one it supersedes),
    so this is one range scan of the partial index, cheap enough to run often.
    """
    return list(
        await db.scalars(
            select(FileVersion)
            .where(FileVersion.archive_until.is_not(None), FileVersion.archive_until <= until)
            .order_by(FileVersion.archive_until)
            .limit(limit)
        )
    )


async def renew_one(
    sessions: async_sessionmaker[AsyncSession],
    *,
    version_id: int,
    blobs: BlobStore,
    services: SigningServices,
    clock: Clock,
) -> FileVersion | None:
    """Renew one version; the new version, or None when the renewal would not help or the
    version was renewed by another runner meanwhile.

    The document timestamp (a call to the TSA, seconds) is taken outside any transaction, then
    stored in a short one that checks the version is still the one due: a transaction that
    read, waited on the network and then wrote would fail on SQLite whenever another writer
    committed in between (WAL: a stale read snapshot cannot become a write)."""
    async with sessions() as db:
        version = await db.get_one(FileVersion, version_id)
    old_until = version.archive_until
    if old_until is None:
        return None
    renewed = await renew_archive(pdf=await blobs.get(version.sha256), services=services)
    new_until = archive_horizon(pdf=renewed)
    sha256 = await blobs.put(renewed) if new_until is not None and new_until > old_until else ""
    async with sessions() as db, db.begin():
        current = await db.get_one(FileVersion, version_id, with_for_update=True)
        if current.archive_until != old_until:
            return None  # renewed (or cleared) by another runner meanwhile
        file = await db.get_one(DocumentFile, current.file_id)
        if not sha256:
            current.archive_until = None  # nothing to gain until the TSA changes
            await audit.record(
                db,
                clock=clock,
                action="archive.renewal_ineffective",
                actor_id=None,
                object_type="document",
                object_id=file.document_id,
                detail={
                    "file_id": file.id,
                    "version": current.version,
                    "archive_until": old_until.isoformat(),
                    "tsa_until": new_until.isoformat() if new_until else None,
                },
            )
            log.warning(
                "archival renewal of file %s v%s would not extend %s: configure a TSA with a "
                "newer certificate",
                file.id,
                current.version,
                old_until.isoformat(),
            )
            return None
        assert new_until is not None
        new = FileVersion(
            file_id=current.file_id,
            version=current.version + 1,
            sha256=sha256,
            size=len(renewed),
            media_type=current.media_type,
            page_count=current.page_count,
            reason="gia hạn dấu thời gian lưu trữ (lưu trữ dài hạn)",
            derived_from=[current.sha256],
            signature_check=current.signature_check,
            created_by_id=None,
            created_at=clock.now(),
            archive_until=new_until,
        )
        current.archive_until = None
        db.add(new)
        await db.flush()
        await audit.record(
            db,
            clock=clock,
            action="archive.renewed",
            actor_id=None,
            object_type="document",
            object_id=file.document_id,
            detail={
                "file_id": file.id,
                "version": new.version,
                "sha256": new.sha256,
                "archive_until": new_until.isoformat(),
            },
        )
    return new


async def renew_due(
    sessions: async_sessionmaker[AsyncSession],
    *,
    blobs: BlobStore,
    services: SigningServices,
    clock: Clock,
    margin: timedelta = DEFAULT_MARGIN,
    limit: int = BATCH,
) -> int:
    """Renew what is due within ``margin`` of ``clock.now()``; the number of new versions.

    Each version in transactions of its own (`renew_one`). A version that fails (TSA down,
    revocation data unavailable) is left as it is and tried again on the next run; the others
    go on.
    """
    async with sessions() as db:
        ids = [v.id for v in await due(db, until=clock.now() + margin, limit=limit)]
    renewed = 0
    for version_id in ids:
        try:
            if await renew_one(
                sessions, version_id=version_id, blobs=blobs, services=services, clock=clock
            ):
                renewed += 1
        except SigningError as exc:
            log.warning("archival renewal of version %s failed: %s", version_id, exc)
    return renewed


async def renew_job(res: SigningContext, job: ClaimedJob) -> None:
    """One batch of what is due (the periodic job); nothing until signing is set up."""
    if res.signing is None:
        return
    margin = timedelta(days=res.settings.archive_renew_margin_days)
    await renew_due(
        res.sessions, blobs=res.blobs, services=res.signing.services, clock=res.clock, margin=margin
    )
