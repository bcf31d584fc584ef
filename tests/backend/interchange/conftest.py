"""The exchange's test world: `eoffice axis-sim` as a real process with three systems (the
province, its Sở Tài chính on its own eOffice, a district's system carrying a commune), and the
offices as apps on their own databases, with helpers to issue, send, poll and run jobs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.jobs import ClaimedJob, Job
from backend.core.models import Agency, Role, User
from backend.core.settings import Settings
from backend.documents import catalogue
from backend.documents.intake import Limits
from backend.documents.tables import Document, DocumentFile, FileVersion
from backend.identity import users
from backend.interchange import compose, inbox, outbox, reception, statuses, xmlsig
from backend.interchange.outbox import Recipient
from backend.interchange.tables import AxisDelivery, AxisReceived
from backend.organisations import create_agency
from backend.runtime.resources import Resources
from backend.web.app import create_app
from signing import InMemoryKey
from signing.samples import make_sample_pdf
from tests.backend.interchange.test_xmlsig import _signer
from tests.conftest import copy_sqlite, make_settings
from tests.support.axis_sim import AxisSimProcess
from tests.support.lifespan import LifespanManager

PROVINCE, OFFICE, FINANCE, COMMUNE = (
    "000.00.00.H53",
    "000.00.01.H53",
    "000.00.11.H53",
    "000.20.31.H53",
)
# The commune is on the axis through another system (its district's), not on eOffice.
SYSTEMS = {"province": "00.53.W00", "finance": "00.54.W00"}
SECRETS = {
    "00.53.W00": "secret-of-the-province",
    "00.54.W00": "secret-of-finance",
    "00.55.W00": "secret-of-the-district",
}


@pytest.fixture(scope="module")
def axis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AxisSimProcess]:
    """One simulator process per test module (starting one costs seconds)…"""
    tmp_path = tmp_path_factory.mktemp("axis")
    config = {
        "systems": SECRETS,
        "registered": {
            "00.53.W00": [PROVINCE, OFFICE],
            "00.54.W00": [FINANCE],
            "00.55.W00": [COMMUNE],
        },
        "directory": [
            {"code": PROVINCE, "name": "UBND tỉnh Tây Ninh", "parent": None},
            {"code": OFFICE, "name": "Văn phòng UBND tỉnh", "parent": PROVINCE},
            {"code": FINANCE, "name": "Sở Tài chính", "parent": PROVINCE},
            {"code": COMMUNE, "name": "UBND xã An Tịnh", "parent": PROVINCE},
        ],
    }
    path = tmp_path / "axis.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    sim = AxisSimProcess(tmp_path / "axis", "--config", str(path)).start()
    yield sim
    sim.stop()


@pytest.fixture
def axis(axis_process: AxisSimProcess) -> AxisSimProcess:
    """…back to its configured state for each test: no packets, no faults."""
    axis_process.hook("/_sim/reset", {})
    return axis_process


@dataclass
class Office:
    app: LifespanManager
    res: Resources
    clerk: User
    leader: User
    specialist: User
    agency: Agency
    # The seal its packets are signed with (XML-DSig); None: they go unsigned.
    seal: xmlsig.PacketSeal | None = None


def seal_of(name: str) -> xmlsig.PacketSeal:
    """An agency's seal key (in memory: the PKCS#11 path is xmlsig_hsm_cases.py's) and its
    certificate under a CA of its own."""
    made = _signer(name)
    pem = made.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return xmlsig.PacketSeal(key=InMemoryKey(pem), certificates=(made.cert, made.ca))


@pytest.fixture(scope="session")
def seals() -> dict[str, xmlsig.PacketSeal]:
    return {"province": seal_of("UBND tỉnh Tây Ninh"), "finance": seal_of("Sở Tài chính")}


async def _office(
    settings: Settings, *, system: str, codes: list[tuple[str, str, str]]
) -> AsyncIterator[Office]:
    async with LifespanManager(create_app(settings)) as app:
        res: Resources = app.state["resources"]
        async with res.sessions() as db, db.begin():
            made = {}
            parent = None
            for code, name, short in codes:
                parent = made[code] = await create_agency(
                    db, clock=res.clock, code=code, name=name, short_name=short, parent=parent
                )
            agency = parent
            assert agency is not None
            people = {}
            for role in (Role.CLERK, Role.LEADER, Role.SPECIALIST):
                people[role] = await users.create_user(
                    db,
                    clock=res.clock,
                    agency=agency,
                    username=f"{role.value}-{system}",
                    full_name=f"Người {role.value}",
                    roles={role},
                )
        async with res.sessions() as db:
            clerk, leader, specialist = [
                await db.get_one(User, people[r].id)
                for r in (Role.CLERK, Role.LEADER, Role.SPECIALIST)
            ]
            agency = await db.get_one(Agency, agency.id)
        yield Office(app, res, clerk, leader, specialist, agency)


def office_settings(
    tmp_path: Path, sqlite_template: Path, redis_url: str, axis: AxisSimProcess, name: str
) -> Settings:
    """An office's own database and data directory, its system on the axis; jobs are run by
    the test (in process) or by a server process started on these settings."""
    system = SYSTEMS[name]
    url = copy_sqlite(sqlite_template, tmp_path / name / "db")
    return make_settings(
        tmp_path / name,
        url,
        redis_url,
        axis_url=axis.api_url,
        axis_system_id=system,
        axis_secret=SECRETS[system],
        jobs_worker=False,
        push_worker=False,
        axis_timeout_seconds=3,
    )


def province_office(settings: Settings) -> AsyncIterator[Office]:
    return _office(
        settings,
        system=SYSTEMS["province"],
        codes=[(PROVINCE, "UBND tỉnh Tây Ninh", "UBND"), (OFFICE, "Văn phòng UBND tỉnh", "VP")],
    )


def finance_office(settings: Settings) -> AsyncIterator[Office]:
    return _office(settings, system=SYSTEMS["finance"], codes=[(FINANCE, "Sở Tài chính", "STC")])


@pytest.fixture
async def offices(
    tmp_path: Path,
    sqlite_template: Path,
    redis_url: str,
    axis: AxisSimProcess,
    seals: dict[str, xmlsig.PacketSeal],
) -> AsyncIterator[tuple[Office, Office]]:
    def settings_for(name: str, system: str) -> Settings:
        return office_settings(tmp_path, sqlite_template, redis_url, axis, name)

    province = province_office(settings_for("province", SYSTEMS["province"]))
    finance = finance_office(settings_for("finance", SYSTEMS["finance"]))
    sender = await anext(province)
    receiver = await anext(finance)
    sender.seal, receiver.seal = seals["province"], seals["finance"]
    try:
        yield sender, receiver
    finally:
        for generator in (finance, province):
            await generator.aclose()


async def run_queued(office: Office, kind: str) -> int:
    """Run every queued job of `kind` once, as a runner would; returns how many ran."""
    async with office.res.sessions() as db, db.begin():
        queued = list(await db.scalars(select(Job).where(Job.kind == kind, Job.status == "queued")))
        for job in queued:
            job.status = "done"
    for job in queued:
        claimed = ClaimedJob(
            id=job.id,
            kind=job.kind,
            payload=job.payload,
            attempt=1,
            max_attempts=job.max_attempts,
            run_at=job.run_at,
            idempotency_key=job.idempotency_key,
            lease_owner="test",
        )
        handler = {
            outbox.SEND_JOB: outbox.send_job,
            statuses.SEND_STATUS_JOB: statuses.send_job,
            inbox.CHECK_JOB: inbox.check_job,
        }[kind]
        await handler(_Context(office), claimed)
    return len(queued)


class _Context:
    """The office's resources as a job sees them, with the office's seal (the in-process
    offices have no PKI, so `Resources.packet_seal` would be None)."""

    def __init__(self, office: Office) -> None:
        self._office = office

    @property
    def packet_seal(self) -> xmlsig.PacketSeal | None:
        return self._office.seal

    def __getattr__(self, name: str) -> object:
        return getattr(self._office.res, name)


async def poll(office: Office) -> None:
    now = datetime.now(UTC)
    job = ClaimedJob(0, inbox.POLL_JOB, {}, 1, 1, now, None, "test")
    await inbox.poll_job(office.res, job)


async def issued_document(office: Office, *, number: int = 12) -> int:
    pdf = make_sample_pdf(title="Về việc báo cáo tình hình thu ngân sách quý IV")
    async with office.res.sessions() as db, db.begin():
        sha = await office.res.blobs.put(pdf)
        now = office.res.clock.now()
        document = Document(
            agency_id=office.agency.id,
            direction=catalogue.Direction.OUTGOING,
            type_code="CV",
            number=number,
            symbol="UBND-KT",
            issue_date=date(2026, 12, 4),
            issue_place="Tây Ninh",
            subject="V/v báo cáo tình hình thu ngân sách quý IV năm 2026",
            signer_name="Nguyễn Văn An",
            signer_title="Chủ tịch",
            signer_competence="TM.",
            urgency=1,
            page_count=1,
            deadline=date(2026, 12, 20),
            status=catalogue.Status.ISSUED,
            recipients="Như trên;\nLưu: VT.",
            created_at=now,
        )
        version = FileVersion(
            version=1,
            sha256=sha,
            size=len(pdf),
            media_type="application/pdf",
            page_count=1,
            reason="ban hành",
            derived_from=[],
            created_at=now,
        )
        document.files = [
            DocumentFile(kind="main", name="cv-12.pdf", position=0, versions=[version])
        ]
        db.add(document)
        await db.flush()
        return document.id


async def send(office: Office, document_id: int, *codes: str) -> None:
    async with office.res.sessions() as db, db.begin():
        document = await db.get_one(Document, document_id)
        province = await db.scalar(select(Agency).where(Agency.code == PROVINCE))
        assert province is not None
        await compose.send_issued(
            db,
            clock=office.res.clock,
            blobs=office.res.blobs,
            document=document,
            issuer=province,
            recipients=[Recipient(code, f"Cơ quan {code}") for code in codes],
            clerk=office.clerk,
            seal=office.seal,
        )


async def deliveries(
    office: Office, document_id: int, *, carriers: bool = False
) -> dict[str, AxisDelivery]:
    """A sent document's delivery to each recipient; `carriers`: those of its update packets
    instead (the latest to each)."""
    async with office.res.sessions() as db:
        rows = await db.scalars(
            select(AxisDelivery)
            .where(
                AxisDelivery.document_id == document_id,
                AxisDelivery.about_id.is_not(None) if carriers else AxisDelivery.about_id.is_(None),
            )
            .order_by(AxisDelivery.id)
        )
        return {d.recipient_code: d for d in rows}


async def received(office: Office) -> list[AxisReceived]:
    async with office.res.sessions() as db:
        return list(await db.scalars(select(AxisReceived).order_by(AxisReceived.id)))


def services_of(office: Office) -> reception.Services:
    return reception.Services(
        blobs=office.res.blobs,
        workers=office.res.pdf_workers,
        checker=office.res.signature_checker,
        limits=Limits(max_bytes=50 * 1024 * 1024),
        max_packet_bytes=50 * 1024 * 1024,
    )


async def clerk_of(office: Office, db: AsyncSession) -> User:
    return await db.get_one(User, office.clerk.id)
