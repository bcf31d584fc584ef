"""The directory follows the axis: the whole list, then a delta (an agency renamed, one added,
one deleted), through `eoffice axis-sim` and the VXP client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from backend.core.jobs import ClaimedJob
from backend.core.models import Agency
from backend.interchange import directory_jobs
from tests.backend.interchange.conftest import COMMUNE, FINANCE, Office
from tests.support.axis_sim import AxisSimProcess

pytestmark = pytest.mark.anyio


def job(kind: str) -> ClaimedJob:
    return ClaimedJob(0, kind, {}, 1, 1, datetime.now(UTC), None, "test")


async def names(office: Office) -> dict[str, tuple[str, bool, bool]]:
    async with office.res.sessions() as db:
        rows = await db.scalars(select(Agency))
        return {a.code: (a.name, a.hosted, a.directory_deleted) for a in rows}


async def test_full_list_then_a_delta(offices: tuple[Office, Office], axis: AxisSimProcess) -> None:
    sender, _ = offices
    await directory_jobs.full_job(sender.res, job(directory_jobs.FULL_JOB))
    known = await names(sender)
    assert known[FINANCE] == ("Sở Tài chính", False, False)
    assert known[COMMUNE] == ("UBND xã An Tịnh", False, False)
    # Our own agencies stay ours (hosted), with their own names.
    assert known["000.00.01.H53"][1] is True

    await directory_jobs.delta_job(sender.res, job(directory_jobs.DELTA_JOB))  # the baseline
    await axis.ahook(
        "/_sim/directory",
        {
            "upsert": [
                {"code": FINANCE, "name": "Sở Tài chính tỉnh Tây Ninh", "parent": "000.00.00.H53"},
                {
                    "code": "000.00.12.H53",
                    "name": "Sở Nội vụ tỉnh Tây Ninh",
                    "parent": "000.00.00.H53",
                },
            ],
            "delete": [COMMUNE],
        },
    )
    await directory_jobs.delta_job(sender.res, job(directory_jobs.DELTA_JOB))
    known = await names(sender)
    assert known[FINANCE] == ("Sở Tài chính tỉnh Tây Ninh", False, False)
    assert known["000.00.12.H53"] == ("Sở Nội vụ tỉnh Tây Ninh", False, False)
    assert known[COMMUNE][2] is True  # flagged, never deleted
