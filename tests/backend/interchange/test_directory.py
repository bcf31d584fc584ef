"""The axis' agency directory in our database, on SQLite and PostgreSQL: the sync (what it adds,
changes, flags, refuses, and that it writes nothing when nothing changed), the picker's search
and groups, and the check of what a clerk chose."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend import organisations
from backend.core import db
from backend.core.clock import FixedClock
from backend.core.errors import ValidationError
from backend.core.models import Agency, AuditEntry, Unit
from backend.interchange import directory
from backend.interchange.directory import InvalidReason, RecipientKind

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Row:
    id: str
    pid: str
    code: str
    name: str
    mail: str = ""
    old_code: str | None = None
    code102: str | None = None
    deleted: bool = False


def row(code: str, name: str, parent: str = "", **extra: object) -> Row:
    return Row(f"ax-{code}", f"ax-{parent}" if parent else "", code, name, **extra)  # type: ignore[arg-type]


P = "000.00.00.H53"
PROVINCE = [
    row("00.53.W00", "Hệ thống quản lý văn bản tỉnh Tây Ninh"),
    row(P, "Ủy ban nhân dân tỉnh Tây Ninh", "00.53.W00"),
    row("000.00.01.H53", "Văn phòng UBND tỉnh Tây Ninh", P),
    row("000.00.11.H53", "Sở Tài chính tỉnh Tây Ninh", P, mail="stc@tayninh.gov.vn"),
    row("000.00.12.H53", "Sở Nội vụ tỉnh Tây Ninh", P),
    row("000.00.26.H53", "Ban Dân tộc tỉnh Tây Ninh", P),
    row("000.00.02.H53", "Thanh tra tỉnh Tây Ninh", P),
    row("000.00.28.H53", "Công an tỉnh Tây Ninh", P),
    row("000.01.11.H53", "Ban Quản lý dự án - Sở Tài chính", "000.00.11.H53"),
    row("000.00.31.H53", "UBND thành phố Tây Ninh", P),
    row("000.00.32.H53", "Ủy ban nhân dân huyện Châu Thành", P),
    row("000.00.33.H53", "UBND thị xã Hòa Thành", P),
    row("000.01.32.H53", "Phòng Tài chính - Kế hoạch huyện Châu Thành", "000.00.32.H53"),
    row("000.20.32.H53", "UBND thị trấn Châu Thành", "000.00.32.H53"),
    row("000.21.32.H53", "Ủy ban nhân dân xã An Bình", "000.00.32.H53"),
    row("000.20.31.H53", "UBND phường 1", "000.00.31.H53"),
    row("001.21.32.H53", "Trường Tiểu học An Bình", "000.21.32.H53"),
    row("000.00.00.G12", "Bộ Tài chính"),
    row("000.00.00.G09", "Bộ Nội vụ"),
    row("000.00.11.H37", "Sở Tài chính tỉnh Lạng Sơn"),
]
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.create_engine(database_url)
    yield db.sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def sync(
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
    rows: list[Row],
    *,
    full: bool = True,
) -> directory.SyncReport:
    async with sessions() as s, s.begin():
        return await directory.sync(s, clock=clock, rows=rows, full=full)


async def agencies(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Agency]:
    async with sessions() as s:
        return {a.code: a for a in await s.scalars(select(Agency))}


@pytest.fixture
def writes(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    """Every INSERT, UPDATE or DELETE sent to the database."""
    seen: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    def count(_c: object, _cur: object, statement: str, *_args: object) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_delta_and_a_full_sync_at_once_both_succeed(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    # The hourly and the daily job, due together at start, in two processes: both planned to
    # add the same agencies, and the second failed on the code's unique index.
    full, delta = await asyncio.gather(
        sync(sessions, clock, PROVINCE), sync(sessions, clock, PROVINCE, full=False)
    )
    assert sorted([full.added, delta.added]) == [0, 20]
    assert len(await agencies(sessions)) == 20


async def test_a_first_sync_adds_the_directory_with_levels_and_parents(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    # Children before their parents in the list: the tree is still right.
    report = await sync(sessions, clock, list(reversed(PROVINCE)))
    assert (report.added, report.updated, report.unchanged, report.deleted) == (20, 0, 0, 0)
    found = await agencies(sessions)
    ids = {a.id: a.code for a in found.values()}
    school = found["001.21.32.H53"]
    assert (school.level, ids[school.parent_id or 0]) == (4, "000.21.32.H53")
    assert [found[c].level for c in (P, "000.00.32.H53", "000.21.32.H53")] == [1, 2, 3]
    assert ids[found[P].parent_id or 0] == "00.53.W00"
    assert found["000.00.00.G12"].parent_id is None
    stc = found["000.00.11.H53"]
    assert not stc.hosted and stc.axis_id == "ax-000.00.11.H53"
    assert stc.mail == "stc@tayninh.gov.vn" and stc.directory_synced_at == NOW
    assert stc.search_key.startswith("so tai chinh tinh tay ninh")
    async with sessions() as s:
        change = await s.scalar(select(AuditEntry).where(AuditEntry.action == "directory.synced"))
    assert change is not None and change.detail["added"] == 20


async def test_the_same_directory_again_writes_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, writes: list[str]
) -> None:
    await sync(sessions, clock, PROVINCE)
    assert writes  # the first time, of course
    writes.clear()
    clock.advance(timedelta(days=1))
    report = await sync(sessions, clock, PROVINCE)
    assert writes == []
    assert report == directory.SyncReport(unchanged=20)
    assert {a.directory_synced_at for a in (await agencies(sessions)).values()} == {NOW}


async def test_a_delta_writes_only_what_changed(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, writes: list[str]
) -> None:
    await sync(sessions, clock, PROVINCE)
    clock.advance(timedelta(days=1))
    writes.clear()
    renamed = [
        replace(r, name="Sở Tài chính tỉnh Tây Ninh (mới)") if r.code == "000.00.11.H53" else r
        for r in PROVINCE
    ]
    report = await sync(sessions, clock, renamed)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 19)
    assert len([w for w in writes if w.lstrip().upper().startswith("UPDATE AGENCIES")]) == 1
    found = await agencies(sessions)
    stc = found["000.00.11.H53"]
    assert stc.name == "Sở Tài chính tỉnh Tây Ninh (mới)"
    assert stc.directory_synced_at == NOW + timedelta(days=1)
    assert "moi" in stc.search_key.split()
    assert found["000.00.12.H53"].directory_synced_at == NOW


async def test_deleted_and_vanished_agencies_are_flagged_never_deleted(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    await sync(sessions, clock, PROVINCE)
    # getSynchronizeUnit: a delta whose row says deleted.
    gone = replace(PROVINCE[-1], deleted=True)
    report = await sync(sessions, clock, [gone], full=False)
    assert (report.deleted, report.updated, report.unchanged) == (1, 0, 0)
    # A full list without Bộ Nội vụ: it vanished from the directory.
    without = [r for r in PROVINCE if r.code not in {"000.00.00.G09", "000.00.11.H37"}]
    report = await sync(sessions, clock, without)
    assert (report.deleted, report.updated, report.unchanged) == (1, 0, 18)
    found = await agencies(sessions)
    assert len(found) == 20
    assert found["000.00.11.H37"].directory_deleted and found["000.00.00.G09"].directory_deleted
    assert not found["000.00.11.H53"].directory_deleted
    # Back in the directory: back in the picker.
    report = await sync(sessions, clock, PROVINCE)
    assert report.updated == 2
    assert not (await agencies(sessions))["000.00.00.G09"].directory_deleted


async def test_invalid_rows_are_reported_and_never_stored(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    bad = [
        Row("x1", "", "vxp.saas.03", "Hệ thống thử nghiệm"),
        Row("x2", "", "000.00.1.H53", "Mã thiếu chữ số"),
        Row("x3", "", "000.00.41.H53", "   "),
        Row("x" * 65, "", "000.00.42.H53", "Mã trục quá dài"),
        replace(PROVINCE[3], id="another-id"),  # the same code twice
    ]
    report = await sync(sessions, clock, [*PROVINCE[:5], *bad])
    assert report.added == 5 and report.invalid == 5
    reasons = [(e.code, e.reason) for e in report.examples]
    assert reasons == [
        ("VXP.SAAS.03", InvalidReason.CODE),
        ("000.00.1.H53", InvalidReason.CODE),
        ("000.00.41.H53", InvalidReason.NAME),
        ("000.00.42.H53", InvalidReason.ID),
        ("000.00.11.H53", InvalidReason.DUPLICATE),
    ]
    assert report.examples[0].message("vi") == "VXP.SAAS.03: mã định danh không hợp lệ"
    assert set(await agencies(sessions)) == {r.code for r in PROVINCE[:5]}


async def test_a_hosted_agency_keeps_its_own_but_joins_the_directory(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    async with sessions() as s, s.begin():
        province = await organisations.create_agency(
            s, clock=clock, code=P, name="UBND tỉnh Tây Ninh (ours)", short_name="UBND"
        )
        await organisations.create_agency(
            s,
            clock=clock,
            code="000.00.01.H53",
            name="Văn phòng (ours)",
            short_name="VP",
            parent=province,
        )
    # The directory lists the office under its QĐ 20 code, the old one as code102.
    office = Row(
        "ax-vp", "ax-" + P, "H53.01", "Văn phòng UBND", "vp@tn.gov.vn", code102="000.00.01.H53"
    )
    rows = [r for r in PROVINCE if r.code != "000.00.01.H53"] + [office]
    report = await sync(sessions, clock, rows)
    assert (report.added, report.updated) == (18, 2)
    found = await agencies(sessions)
    assert "H53.01" not in found
    ours = found["000.00.01.H53"]
    assert ours.hosted and ours.name == "Văn phòng (ours)" and ours.short_name == "VP"
    assert (ours.axis_id, ours.mail, ours.other_code) == ("ax-vp", "vp@tn.gov.vn", "H53.01")
    assert ours.parent_id == found[P].id and ours.level == 2
    assert found[P].hosted and found[P].parent_id is None  # our tree, not the directory's
    assert (await sync(sessions, clock, rows)).unchanged == 20


async def test_codes_move_with_the_directorys_id_and_never_collide(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    await sync(sessions, clock, PROVINCE[:5])
    # Sở Tài chính and Sở Nội vụ swap codes (same ids): both land, through parked codes.
    stc, snv = PROVINCE[3], PROVINCE[4]
    swapped = [*PROVINCE[:3], replace(stc, code=snv.code), replace(snv, code=stc.code)]
    report = await sync(sessions, clock, swapped)
    assert report.updated == 2 and report.invalid == 0
    found = await agencies(sessions)
    assert found["000.00.12.H53"].axis_id == stc.id
    assert found["000.00.11.H53"].axis_id == snv.id
    # The same code twice in a list: the second is refused.
    intruder = Row("ax-new", "", "000.00.12.H53", "Sở khác")
    report = await sync(sessions, clock, [*swapped, intruder])
    assert report.invalid == 1 and report.examples[0].reason is InvalidReason.DUPLICATE
    # A move onto the code of an agency that keeps it (here, not even in this delta): refused.
    clash = replace(PROVINCE[2], code="000.00.11.H53", name="Văn phòng (mới)")
    report = await sync(sessions, clock, [clash], full=False)
    assert (report.updated, report.invalid) == (0, 1)
    assert report.examples[0].reason is InvalidReason.CONFLICT
    assert (await agencies(sessions))["000.00.01.H53"].name == "Văn phòng UBND tỉnh Tây Ninh"


async def test_a_parent_arriving_later_adopts_its_children(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    district, commune = PROVINCE[10], PROVINCE[14]
    await sync(sessions, clock, [commune], full=False)
    assert (await agencies(sessions))[commune.code].parent_id is None
    report = await sync(sessions, clock, [district], full=False)
    assert (report.added, report.updated) == (1, 1)
    found = await agencies(sessions)
    assert found[commune.code].parent_id == found[district.code].id


@pytest.fixture
async def province(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> Agency:
    """The province's directory, with its office hosted here (two units, one merged)."""
    async with sessions() as s, s.begin():
        office = await organisations.create_agency(
            s, clock=clock, code="000.00.01.H53", name="Văn phòng UBND tỉnh", short_name="VP"
        )
        kept = await organisations.create_unit(
            s, clock=clock, agency=office, name="Phòng Kinh tế", short_name="KT"
        )
        merged = await organisations.create_unit(
            s, clock=clock, agency=office, name="Phòng Kinh tế ngành", short_name="KTN"
        )
        await organisations.merge_units(s, clock=clock, sources=[merged], target=kept)
    await sync(sessions, clock, PROVINCE)
    return office


async def search(
    sessions: async_sessionmaker[AsyncSession], query: str, **options: object
) -> list[str]:
    async with sessions() as s:
        return [r.name for r in await directory.search(s, query, **options)]  # type: ignore[arg-type]


async def test_search_ignores_case_and_diacritics(
    sessions: async_sessionmaker[AsyncSession], province: Agency
) -> None:
    expected = ["Sở Tài chính tỉnh Tây Ninh", "Sở Tài chính tỉnh Lạng Sơn"]
    for query in ("so tai chinh", "Sở Tài chính", "SỞ TÀI CHÍNH", "sở tai chinh"):
        found = await search(sessions, query, near=province.code)
        assert found == [*expected, "Ban Quản lý dự án - Sở Tài chính"]
    # Initials too, as a word start; inside other initials ("BQLDA-STC") after those.
    assert await search(sessions, "STC", near=province.code) == [
        *expected,
        "Ban Quản lý dự án - Sở Tài chính",
    ]
    assert await search(sessions, "ubnd xa an binh") == ["Ủy ban nhân dân xã An Bình"]


async def test_the_picker_page_warms_the_index_so_a_search_does_not_build_it(
    sessions: async_sessionmaker[AsyncSession], province: Agency
) -> None:
    async with sessions() as s:
        await directory.warm(s)
        engine = s.get_bind()
    holder = directory._HOLDERS[engine]
    assert holder.rebuild is not None
    await holder.rebuild
    warmed = holder.index
    assert warmed is not None
    async with sessions() as s:
        await directory.warm(s)  # current: nothing started
    assert holder.rebuild.done() and holder.index is warmed
    assert await search(sessions, "so tai chinh tay ninh") == ["Sở Tài chính tỉnh Tây Ninh"]
    assert holder.index is warmed  # the search answered from the warmed index


async def test_search_by_code_and_ranking(
    sessions: async_sessionmaker[AsyncSession], province: Agency
) -> None:
    assert await search(sessions, "000.00.32.H53") == ["Ủy ban nhân dân huyện Châu Thành"]
    assert await search(sessions, "000.00.3", limit=3) == [
        "UBND thành phố Tây Ninh",
        "Ủy ban nhân dân huyện Châu Thành",
        "UBND thị xã Hòa Thành",
    ]
    # Words that start names first, the sender's province next, shorter names before longer.
    assert await search(sessions, "tai chinh", near=province.code) == [
        "Sở Tài chính tỉnh Tây Ninh",
        "Ban Quản lý dự án - Sở Tài chính",
        "Phòng Tài chính - Kế hoạch huyện Châu Thành",
        "Bộ Tài chính",
        "Sở Tài chính tỉnh Lạng Sơn",
    ]
    assert (await search(sessions, "tai chinh"))[0] == "Bộ Tài chính"
    # A fragment inside a word, after every word match.
    assert await search(sessions, "hanh", near=province.code, limit=4) == [
        "UBND thị xã Hòa Thành",
        "Thanh tra tỉnh Tây Ninh",
        "UBND thành phố Tây Ninh",
        "UBND thị trấn Châu Thành",
    ]
    assert await search(sessions, "thanh", near=province.code, limit=2) == [
        "Thanh tra tỉnh Tây Ninh",  # starts with it
        "UBND thị xã Hòa Thành",
    ]


async def test_search_hides_system_codes_deleted_and_excluded_agencies(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, province: Agency
) -> None:
    assert await search(sessions, "he thong quan ly") == []
    assert await search(sessions, "00.53.W00") == []
    assert await search(sessions, "van phong") == ["Văn phòng UBND tỉnh"]  # hosted: ours
    assert await search(sessions, "van phong", exclude_codes=[province.code]) == []
    assert await search(sessions, "bo noi vu") == ["Bộ Nội vụ"]
    # The directory deletes Bộ Nội vụ; the next search (a new version) no longer offers it.
    await sync(sessions, clock, [replace(PROVINCE[18], deleted=True)], full=False)
    assert await search(sessions, "bo noi vu") == []
    # A hosted agency created since is found at once.
    async with sessions() as s, s.begin():
        await organisations.create_agency(
            s,
            clock=clock,
            code="000.00.77.H53",
            name="Sở Ngoại vụ tỉnh Tây Ninh",
            short_name="SNgV",
        )
    assert await search(sessions, "ngoai vu") == ["Sở Ngoại vụ tỉnh Tây Ninh"]


async def test_search_results_say_where_the_agency_belongs(
    sessions: async_sessionmaker[AsyncSession], province: Agency
) -> None:
    async with sessions() as s:
        [school] = await directory.search(s, "truong tieu hoc an binh")
        stc = (await directory.search(s, "000.00.11.H53"))[0]
    assert school.kind is RecipientKind.AGENCY and school.field == "recipient"
    assert school.value == "001.21.32.H53"
    assert school.context == "Ủy ban nhân dân xã An Bình · Ủy ban nhân dân tỉnh Tây Ninh"
    assert stc.context == "Ủy ban nhân dân tỉnh Tây Ninh" and not stc.hosted


async def test_groups_of_the_senders_province(
    sessions: async_sessionmaker[AsyncSession], province: Agency
) -> None:
    async with sessions() as s:
        found = {g.key: g for g in await directory.groups(s, agency=province)}
    assert list(found) == ["departments", "districts", "communes", "units"]
    assert found["departments"].label("vi") == "Tất cả các sở, ban, ngành"
    assert [m.value for m in found["departments"].members] == [
        "000.00.02.H53",  # Thanh tra tỉnh
        "000.00.11.H53",
        "000.00.12.H53",
        "000.00.26.H53",  # Ban Dân tộc
    ]  # not Công an tỉnh (named otherwise), not a Ban under a Sở (level 3)
    assert [m.value for m in found["districts"].members] == [
        "000.00.31.H53",
        "000.00.32.H53",
        "000.00.33.H53",
    ]
    assert [m.value for m in found["communes"].members] == [
        "000.20.31.H53",
        "000.20.32.H53",
        "000.21.32.H53",
    ]
    units = found["units"].members
    assert [(u.kind, u.name, u.field) for u in units] == [
        (RecipientKind.UNIT, "Phòng Kinh tế", "unit")
    ]  # the merged unit is gone


async def test_a_deleted_agency_leaves_its_group(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, province: Agency
) -> None:
    await sync(sessions, clock, [replace(PROVINCE[11], deleted=True)], full=False)
    async with sessions() as s:
        found = {g.key: g for g in await directory.groups(s, agency=province)}
    assert [m.value for m in found["districts"].members] == ["000.00.31.H53", "000.00.32.H53"]


async def test_what_a_clerk_chose_is_checked(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, province: Agency
) -> None:
    async with sessions() as s:
        units = list(await s.scalars(select(Unit).order_by(Unit.id)))
        chosen = await directory.resolve(
            s,
            agency=province,
            codes=["000.00.11.h53", "000.00.32.H53", "000.00.11.H53"],
            unit_ids=[str(units[0].id)],
        )
        assert [(r.field, r.value) for r in chosen] == [
            ("recipient", "000.00.11.H53"),
            ("recipient", "000.00.32.H53"),
            ("unit", str(units[0].id)),
        ]
        for codes, unit_ids in (
            (["00.53.W00"], []),  # a system code
            ([province.code], []),  # ourselves
            (["000.00.99.H53"], []),  # unknown
            ([], [str(units[1].id)]),  # merged
            ([], ["abc"]),
        ):
            with pytest.raises(ValidationError, match="Unknown recipients"):
                await directory.resolve(s, agency=province, codes=codes, unit_ids=unit_ids)
    await sync(sessions, clock, [replace(PROVINCE[3], deleted=True)], full=False)
    async with sessions() as s:
        with pytest.raises(ValidationError):
            await directory.resolve(s, agency=province, codes=["000.00.11.H53"], unit_ids=[])


async def test_the_administrators_list(
    sessions: async_sessionmaker[AsyncSession], province: Agency
) -> None:
    async with sessions() as s:
        ours = await directory.listing(s)
        assert [a.code for a in ours.agencies] == [province.code] and ours.total == 1
        listed = await directory.listing(s, directory=True, limit=5)
        assert listed.total == 19 and len(listed.agencies) == 5
        found = await directory.listing(s, directory=True, query="Tài chính")
        assert [a.code for a in found.agencies] == [
            "000.00.00.G12",
            "000.00.11.H37",
            "000.00.11.H53",
            "000.01.11.H53",
            "000.01.32.H53",
        ]
        by_code = await directory.listing(s, directory=True, query="000.00.3")
        assert by_code.total == 3
