"""Demo data: a fictional province with its office, departments, a district and a commune.

Everything here is marked as demo (agency names say "DEMO", users have `is_demo`), and the
loader is idempotent: running it twice changes nothing. Around the hosted agencies, a small
directory of the province as the national axis would list it (its departments, districts,
communes, a few ministries) is loaded through `interchange.directory.sync`, so the recipient
picker has something real to offer; those agencies are `hosted=False` and their names carry no
"DEMO" (they stand for the outside world); the province, its block H99 and the codes are
fictional, except the ministries' G09 and G22 quoted in the interchange reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import organisations
from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.models import Agency, Role, Unit, User
from backend.demo import authority as demo_authority
from backend.demo import history, sample_documents, workload
from backend.demo.history import Staff
from backend.documents.catalogue import Status
from backend.documents.tables import Document
from backend.documents.workers import PdfWorkers
from backend.identity import users
from backend.interchange import directory
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
# With the six months of history: the other units' heads and specialists who handled them.
STAFF_USERS = [
    DemoUser("truongphongnc", "Ngô Thị Lan", "Trưởng phòng Nội chính",
             frozenset({Role.UNIT_HEAD}), "NC", "0912000011"),
    DemoUser("truongphongkgvx", "Đinh Văn Mạnh", "Trưởng phòng Khoa giáo - Văn xã",
             frozenset({Role.UNIT_HEAD}), "KGVX", "0912000012"),
    DemoUser("chuyenvien3", "Lý Thị Mai", "Chuyên viên Phòng Kinh tế",
             frozenset({Role.SPECIALIST}), "KT", "0912000013"),
    DemoUser("chuyenvien4", "Trịnh Văn Nam", "Chuyên viên Phòng Nội chính",
             frozenset({Role.SPECIALIST}), "NC", "0912000014"),
    DemoUser("chuyenvien5", "Phan Thị Oanh", "Chuyên viên Phòng Khoa giáo - Văn xã",
             frozenset({Role.SPECIALIST}), "KGVX", "0912000015"),
    DemoUser("chuyenvien6", "Tạ Quang Phúc", "Chuyên viên Phòng Tổng hợp",
             frozenset({Role.SPECIALIST}), "TH", "0912000016"),
    DemoUser("chuyenvien7", "Mai Thị Quỳnh", "Chuyên viên Phòng Khoa giáo - Văn xã",
             frozenset({Role.SPECIALIST}), "KGVX", "0912000017"),
]  # fmt: skip


# The province in the national axis' directory: (code, name, parent code). The hosted agencies
# above are in it too, under their own codes: the sync gives them the directory's id and e-mail.
DIRECTORY = [
    ("00.99.W00", "Hệ thống quản lý văn bản tỉnh Sông Hồng", None),
    (PROVINCE_CODE, "Ủy ban nhân dân tỉnh Sông Hồng", "00.99.W00"),
    ("000.00.01.H99", "Văn phòng UBND tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.02.H99", "Thanh tra tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.11.H99", "Sở Tài chính tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.12.H99", "Sở Nội vụ tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.13.H99", "Sở Kế hoạch và Đầu tư tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.14.H99", "Sở Tư pháp tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.15.H99", "Sở Công Thương tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.16.H99", "Sở Nông nghiệp và Phát triển nông thôn tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.17.H99", "Sở Giao thông vận tải tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.18.H99", "Sở Xây dựng tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.19.H99", "Sở Tài nguyên và Môi trường tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.20.H99", "Sở Thông tin và Truyền thông tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.21.H99", "Sở Lao động - Thương binh và Xã hội tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.22.H99", "Sở Văn hóa, Thể thao và Du lịch tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.23.H99", "Sở Khoa học và Công nghệ tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.24.H99", "Sở Giáo dục và Đào tạo tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.25.H99", "Sở Y tế tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.26.H99", "Ban Dân tộc tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.27.H99", "Ban Quản lý các khu công nghiệp tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.00.28.H99", "Công an tỉnh Sông Hồng", PROVINCE_CODE),
    ("000.01.11.H99", "Chi cục Tài chính doanh nghiệp tỉnh Sông Hồng", "000.00.11.H99"),
    ("000.01.24.H99", "Trường Trung học phổ thông chuyên Sông Hồng", "000.00.24.H99"),
    ("000.01.25.H99", "Bệnh viện Đa khoa tỉnh Sông Hồng", "000.00.25.H99"),
    ("000.00.31.H99", "UBND thành phố Hồng Châu", PROVINCE_CODE),
    ("000.00.32.H99", "Ủy ban nhân dân huyện Bình Minh", PROVINCE_CODE),
    ("000.00.33.H99", "UBND thị xã Phú Thịnh", PROVINCE_CODE),
    ("000.00.34.H99", "UBND huyện Tân Lập", PROVINCE_CODE),
    ("000.01.31.H99", "Phòng Tài chính - Kế hoạch thành phố Hồng Châu", "000.00.31.H99"),
    ("000.01.32.H99", "Phòng Tài chính - Kế hoạch huyện Bình Minh", "000.00.32.H99"),
    ("000.02.32.H99", "Phòng Nội vụ huyện Bình Minh", "000.00.32.H99"),
    ("000.03.32.H99", "Văn phòng HĐND và UBND huyện Bình Minh", "000.00.32.H99"),
    ("000.20.31.H99", "UBND phường Hồng Hà", "000.00.31.H99"),
    ("000.21.31.H99", "UBND phường Châu Long", "000.00.31.H99"),
    ("000.20.32.H99", "UBND thị trấn Bình Minh", "000.00.32.H99"),
    ("000.21.32.H99", "Ủy ban nhân dân xã An Phú", "000.00.32.H99"),
    ("000.22.32.H99", "UBND xã Bình Thành", "000.00.32.H99"),
    ("000.23.32.H99", "UBND xã Tân Hòa", "000.00.32.H99"),
    ("000.20.33.H99", "UBND phường Phú Lợi", "000.00.33.H99"),
    ("000.21.33.H99", "UBND xã Thịnh An", "000.00.33.H99"),
    ("000.20.34.H99", "UBND thị trấn Tân Lập", "000.00.34.H99"),
    ("000.21.34.H99", "UBND xã Lập Thành", "000.00.34.H99"),
    ("001.21.32.H99", "Trường Tiểu học An Phú", "000.21.32.H99"),
    ("000.00.00.G22", "Văn phòng Chính phủ", None),
    ("000.00.00.G09", "Bộ Nội vụ", None),
    ("000.00.00.G12", "Bộ Tài chính", None),
    ("000.00.00.G15", "Bộ Kế hoạch và Đầu tư", None),
    ("000.00.00.G19", "Bộ Thông tin và Truyền thông", None),
    ("000.00.05.G12", "Tổng cục Thuế - Bộ Tài chính", "000.00.00.G12"),
]
DIRECTORY_MAIL = {
    PROVINCE_CODE: "ubnd@songhong.gov.vn",
    "000.00.01.H99": "vanphong@songhong.gov.vn",
    "000.00.02.H99": "thanhtra@songhong.gov.vn",
    "000.00.11.H99": "stc@songhong.gov.vn",
    "000.00.12.H99": "snv@songhong.gov.vn",
    "000.00.13.H99": "skhdt@songhong.gov.vn",
    "000.00.14.H99": "stp@songhong.gov.vn",
    "000.00.15.H99": "sct@songhong.gov.vn",
    "000.00.16.H99": "snn@songhong.gov.vn",
    "000.00.17.H99": "sgtvt@songhong.gov.vn",
    "000.00.18.H99": "sxd@songhong.gov.vn",
    "000.00.19.H99": "stnmt@songhong.gov.vn",
    "000.00.20.H99": "stttt@songhong.gov.vn",
    "000.00.21.H99": "sldtbxh@songhong.gov.vn",
    "000.00.22.H99": "svhttdl@songhong.gov.vn",
    "000.00.23.H99": "skhcn@songhong.gov.vn",
    "000.00.24.H99": "sgddt@songhong.gov.vn",
    "000.00.25.H99": "syt@songhong.gov.vn",
    "000.00.26.H99": "bdt@songhong.gov.vn",
    "000.00.27.H99": "bqlkcn@songhong.gov.vn",
    "000.00.28.H99": "congan@songhong.gov.vn",
    "000.00.31.H99": "ubnd@hongchau.songhong.gov.vn",
    "000.00.32.H99": "ubnd@binhminh.songhong.gov.vn",
    "000.00.33.H99": "ubnd@phuthinh.songhong.gov.vn",
    "000.00.34.H99": "ubnd@tanlap.songhong.gov.vn",
    "000.00.00.G22": "vpcp@chinhphu.vn",
    "000.00.00.G09": "bnv@moha.gov.vn",
    "000.00.00.G12": "btc@mof.gov.vn",
    "000.00.00.G15": "bkhdt@mpi.gov.vn",
    "000.00.00.G19": "btttt@mic.gov.vn",
}


@dataclass(frozen=True)
class DirectoryEntry:
    """A row of DIRECTORY in the shape the axis client gives (`directory.DirectoryRow`)."""

    id: str
    pid: str
    code: str
    name: str
    mail: str


def directory_rows() -> list[DirectoryEntry]:
    def axis_id(code: str | None) -> str:
        return f"songhong-{code}" if code else ""

    return [
        DirectoryEntry(axis_id(code), axis_id(parent), code, name, DIRECTORY_MAIL.get(code, ""))
        for code, name, parent in DIRECTORY
    ]


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
    months: int = 0,
    seed: int = history.DEFAULT_SEED,
    daily: int = history.DAILY_INCOMING,
) -> DemoSummary:
    """Load the demo province; with a blob store and PDF workers, sample documents too, and with
    `months`, that many months of the office's work before today (`daily` incoming documents a
    working day on average, drawn from `seed`) and drafts waiting for the leaders."""
    existing = await db.scalar(select(Agency).where(Agency.code == PROVINCE_CODE))
    if existing is not None:
        return await _summary(db, created=False)
    if months and (blobs is None or workers is None):
        raise ValueError("the demo's history needs a blob store and PDF workers")

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
    # Not full: a real directory already synced here would otherwise be flagged deleted.
    await directory.sync(db, clock=clock, rows=directory_rows(), full=False)
    created: dict[str, User] = {}
    for person in DEMO_USERS + (STAFF_USERS if months else []):
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
    await demo_authority.load(db, clock=clock, people=created, admin=created["quantri"])
    if months and blobs is not None and workers is not None:
        # Before today's documents: their số đến continue the history's register.
        await workload.load_history(
            db,
            clock=clock,
            blobs=blobs,
            workers=workers,
            staff=_staff(by_code, units, created),
            senders=history.issuers(DIRECTORY, exclude={"00.99.W00", PROVINCE_CODE, OFFICE_CODE}),
            months=months,
            seed=seed,
            daily=daily,
        )
    if blobs is not None and workers is not None:
        await sample_documents.load(
            db, clock=clock, blobs=blobs, workers=workers, clerk=created["vanthu"]
        )
        # The office chief has put the Hỏa tốc công điện before the chairman ("Chờ cho ý kiến").
        urgent = await db.scalar(
            select(Document)
            .where(
                Document.agency_id == office.id,
                Document.urgency >= 3,
                Document.status == Status.REGISTERED,
            )
            # The sample công điện, registered after the history.
            .order_by(Document.id.desc())
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
    if months and blobs is not None and workers is not None:
        await workload.load_drafts(db, clock=clock, blobs=blobs, workers=workers, people=created)
    return await _summary(db, created=True)


def _staff(by_code: dict[str, Agency], units: dict[str, Unit], people: dict[str, User]) -> Staff:
    office = by_code[OFFICE_CODE]
    return Staff(
        office_id=office.id,
        office_short=office.short_name,
        province_short=by_code[PROVINCE_CODE].short_name,
        users={name: user.id for name, user in people.items()},
        names={name: (user.full_name, user.title) for name, user in people.items()},
        units={short: unit.id for short, unit in units.items()},
    )


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
