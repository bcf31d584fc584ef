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
from sqlalchemy.ext.asyncio import AsyncSession

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
    db: AsyncSession,
    *,
    version: FileVersion,
    blobs: BlobStore,
    services: SigningServices,
    clock: Clock,
) -> FileVersion | None:
    """Renew one version; the new version, or None when the renewal would not help."""
    assert version.archive_until is not None
    old_until = version.archive_until
    renewed = await renew_archive(pdf=await blobs.get(version.sha256), services=services)
    new_until = archive_horizon(pdf=renewed)
    file = await db.get_one(DocumentFile, version.file_id)
    if new_until is None or new_until <= old_until:
        version.archive_until = None  # nothing to gain until the TSA changes
        await audit.record(
            db,
            clock=clock,
            action="archive.renewal_ineffective",
            actor_id=None,
            object_type="document",
            object_id=file.document_id,
            detail={
                "file_id": file.id,
                "version": version.version,
                "archive_until": old_until.isoformat(),
                "tsa_until": new_until.isoformat() if new_until else None,
            },
        )
        log.warning(
            "archival renewal of file %s v%s would not extend %s: configure a TSA with a newer "
            "certificate",
            file.id,
            version.version,
            old_until.isoformat(),
        )
        return None
    now = clock.now()
    new = FileVersion(
        file_id=version.file_id,
        version=version.version + 1,
        sha256=await blobs.put(renewed),
        size=len(renewed),
        media_type=version.media_type,
        page_count=version.page_count,
        reason="gia hạn dấu thời gian lưu trữ (lưu trữ dài hạn)",
        derived_from=[version.sha256],
        signature_check=version.signature_check,
        created_by_id=None,
        created_at=now,
        archive_until=new_until,
    )
    version.archive_until = None
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
    db: AsyncSession,
    *,
    blobs: BlobStore,
    services: SigningServices,
    clock: Clock,
    margin: timedelta = DEFAULT_MARGIN,
    limit: int = BATCH,
) -> int:
    """Renew what is due within ``margin`` of ``clock.now()``; the number of new versions.

    A version that fails (TSA down, revocation data unavailable) is left as it is and tried
    again on the next run; the others go on.
    """
    renewed = 0
    for version in await due(db, until=clock.now() + margin, limit=limit):
        try:
            async with db.begin_nested():
                if await renew_one(
                    db, version=version, blobs=blobs, services=services, clock=clock
                ):
                    renewed += 1
        except SigningError as exc:
            log.warning("archival renewal of version %s failed: %s", version.id, exc)
    return renewed


async def renew_job(res: SigningContext, job: ClaimedJob) -> None:
    """One batch of what is due (the periodic job); nothing until signing is set up."""
    if res.signing is None:
        return
    margin = timedelta(days=res.settings.archive_renew_margin_days)
    async with res.sessions() as db, db.begin():
        await renew_due(
            db, blobs=res.blobs, services=res.signing.services, clock=res.clock, margin=margin
        )
