"""Demo data: a fictional province with its office, departments, a district and a commune.

Everything here is marked as demo (agency names say "DEMO", users have `is_demo`), and the
loader is idempotent: running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import organisations
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.models import Agency, Role, Unit, User
from backend.demo import sample_documents
from backend.documents.tables import Document
from backend.documents.workers import PdfWorkers
from backend.identity import users
from backend.workflow import assignments
from backend.workflow.assignments import Actor

PROVINCE_CODE = "000.00.00.H99"
# Địa danh of the demo province's documents (the date line "Sông Hồng, ngày … tháng … năm …").
PLACE_NAME = "Sông Hồng"

# (code, name, short name, parent code)
AGENCIES = [
    (PROVINCE_CODE, "Ủy ban nhân dân tỉnh Sông Hồng (DEMO)", "UBND", None),
    ("000.00.01.H99", "Văn phòng Ủy ban nhân dân tỉnh Sông Hồng (DEMO)", "VP", PROVINCE_CODE),
    ("000.00.11.H99", "Sở Tài chính tỉnh Sông Hồng (DEMO)", "STC", PROVINCE_CODE),
    ("000.00.12.H99", "Sở Nội vụ tỉnh Sông Hồng (DEMO)", "SNV", PROVINCE_CODE),
    ("000.00.32.H99", "Ủy ban nhân dân huyện Bình Minh (DEMO)", "UBND", PROVINCE_CODE),
    ("000.21.32.H99", "Ủy ban nhân dân xã An Phú (DEMO)", "UBND", "000.00.32.H99"),
]

OFFICE_CODE = "000.00.01.H99"

# The office had ten units; a re-organisation merged them into seven. The merged units stay in
# the database (documents keep their original unit), pointing at their successors.
OFFICE_UNITS = [
    ("Phòng Tổng hợp", "TH"),
    ("Phòng Kinh tế", "KT"),
    ("Phòng Kinh tế ngành", "KTN"),
    ("Phòng Nội chính", "NC"),
    ("Phòng Khoa giáo - Văn xã", "KGVX"),
    ("Phòng Hành chính - Tổ chức", "HCTC"),
    ("Phòng Quản trị - Tài vụ", "QTTV"),
    ("Ban Tiếp công dân", "BTCD"),
    ("Trung tâm Thông tin - Công báo", "TTCB"),
    ("Phòng Kiểm soát thủ tục hành chính", "KSTT"),
]
# (merged, into): 10 units → 7 active.
OFFICE_MERGES = [("KTN", "KT"), ("QTTV", "HCTC"), ("KSTT", "NC")]


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    title: str
    roles: frozenset[Role]
    unit: str | None
    phone: str | None


DEMO_USERS = [
    DemoUser("chutich", "Nguyễn Văn An", "Chủ tịch UBND tỉnh", frozenset({Role.LEADER}), None,
             "0912000001"),
    DemoUser("phochutich", "Trần Thị Bích Ngọc", "Phó Chủ tịch UBND tỉnh",
             frozenset({Role.LEADER}), None, "0912000002"),
    DemoUser("chanhvanphong", "Lê Hoàng Cường", "Chánh Văn phòng UBND tỉnh",
             frozenset({Role.OFFICE_CHIEF, Role.UNIT_HEAD}), "TH", "0912000003"),
    DemoUser("truongphongkt", "Phạm Thu Dung", "Trưởng phòng Kinh tế",
             frozenset({Role.UNIT_HEAD}), "KT", "0912000004"),
    DemoUser("chuyenvien1", "Hoàng Minh Đức", "Chuyên viên Phòng Kinh tế",
             frozenset({Role.SPECIALIST}), "KT", "0912000005"),
    DemoUser("chuyenvien2", "Võ Thị Hạnh", "Chuyên viên Phòng Nội chính",
             frozenset({Role.SPECIALIST}), "NC", "0912000006"),
    DemoUser("vanthu", "Đặng Quốc Huy", "Văn thư Văn phòng UBND tỉnh",
             frozenset({Role.CLERK}), "HCTC", "0912000007"),
    DemoUser("quantri", "Bùi Thanh Khoa", "Quản trị hệ thống", frozenset({Role.ADMIN}), "TTCB",
             None),
]  # fmt: skip


# The province's leaders are listed with the office but sign in the province's name (TM. UBND).
SIGN_FOR_PROVINCE = frozenset({"chutich", "phochutich"})


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    agencies: int
    units: int
    active_units: int
    users: int
    documents: int


async def load(
    db: AsyncSession,
    *,
    clock: Clock,
    blobs: BlobStore | None = None,
    workers: PdfWorkers | None = None,
) -> DemoSummary:
    """Load the demo province; with a blob store and PDF workers, sample documents too."""
    existing = await db.scalar(select(Agency).where(Agency.code == PROVINCE_CODE))
    if existing is not None:
        return await _summary(db, created=False)

    by_code: dict[str, Agency] = {}
    for code, name, short_name, parent_code in AGENCIES:
        by_code[code] = await organisations.create_agency(
            db,
            clock=clock,
            code=code,
            name=name,
            short_name=short_name,
            parent=by_code[parent_code] if parent_code else None,
            place_name=PLACE_NAME,
        )
    office = by_code[OFFICE_CODE]
    units: dict[str, Unit] = {}
    for name, short_name in OFFICE_UNITS:
        units[short_name] = await organisations.create_unit(
            db, clock=clock, agency=office, name=name, short_name=short_name
        )
    for merged, into in OFFICE_MERGES:
        await organisations.merge_units(
            db, clock=clock, sources=[units[merged]], target=units[into]
        )
    created: dict[str, User] = {}
    for person in DEMO_USERS:
        created[person.username] = await users.create_user(
            db,
            clock=clock,
            agency=office,
            username=person.username,
            full_name=person.full_name,
            title=person.title,
            roles=set(person.roles),
            unit=units[person.unit] if person.unit else None,
            phone=person.phone,
            is_demo=True,
            signs_for=by_code[PROVINCE_CODE] if person.username in SIGN_FOR_PROVINCE else None,
        )
    if blobs is not None and workers is not None:
        await sample_documents.load(
            db, clock=clock, blobs=blobs, workers=workers, clerk=created["vanthu"]
        )
        # The office chief has put the Hỏa tốc công điện before the chairman ("Chờ cho ý kiến").
        urgent = await db.scalar(
            select(Document)
            .where(Document.agency_id == office.id, Document.urgency >= 3)
            .order_by(Document.id)
            .limit(1)
        )
        if urgent is not None:
            await assignments.request_direction(
                db,
                clock=clock,
                actor=Actor(created["chanhvanphong"], device="eOffice (demo)"),
                document=urgent,
                leader_id=created["chutich"].id,
                note="Đề nghị đồng chí Chủ tịch cho ý kiến chỉ đạo; đề xuất giao Phòng Nội chính "
                "chủ trì.",
            )
    return await _summary(db, created=True)


async def _summary(db: AsyncSession, *, created: bool) -> DemoSummary:
    agencies = list(await db.scalars(select(Agency).where(Agency.name.like("%(DEMO)"))))
    units = list(await db.scalars(select(Unit).where(Unit.agency_id.in_([a.id for a in agencies]))))
    demo_users = list(await db.scalars(select(User).where(User.is_demo.is_(True))))
    documents = await db.scalar(
        select(func.count())
        .select_from(Document)
        .where(Document.agency_id.in_([a.id for a in agencies]))
    )
    return DemoSummary(
        created=created,
        agencies=len(agencies),
        units=len(units),
        active_units=sum(1 for u in units if u.active),
        users=len(demo_users),
        documents=int(documents or 0),
    )
