"""The national axis' agency directory at scale: sync and the recipient picker (run on demand).

    .venv/bin/python bench/bench_directory.py              # 123,000 agencies, SQLite
    .venv/bin/python bench/bench_directory.py --pg         # and PostgreSQL (127.0.0.1:5432)
    .venv/bin/python bench/bench_directory.py --agencies 20000 --repeat 10

Generates a deterministic directory shaped like the real one (getAgenciesList: id, pid, code,
name, mail): ministries with their units, then 63 provinces, each with its People's Committee,
departments and their units, districts with their offices and communes, communes with their
schools and mass organisations; the axis' W00 system codes and a few invalid rows. On each
database (fresh, migrated): a first full sync, the same list again (no change: must write
nothing), a delta of 500 changes (getSynchronizeUnit: 300 renamed, 100 new, 100 deleted) and
the full list carrying those changes, the index rebuild after a change, then the picker's search
(`directory.search`, a session per query as a request has) over queries a clerk types, letter
by letter included, and the province groups. Baselines in the same run: a bare executemany
INSERT of the same rows into a scratch table (sync), one agency read by primary key (search).
Targets (the directory issue): the sync of 123,000 rows in seconds, a repeated sync writing
nothing, search p95 <= 50 ms on SQLite and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend import organisations
from backend.core import db, migrate
from backend.core.clock import FixedClock
from backend.core.models import Agency
from backend.interchange import directory

PG = "postgresql://postgres@127.0.0.1:5432"
NAME = "eoffice_bench_directory"
NS = uuid.UUID("6f1c2d4e-9a0b-4c3d-8e7f-112233445566")

PROVINCES = [
    "Hà Nội",
    "Hà Giang",
    "Cao Bằng",
    "Bắc Kạn",
    "Tuyên Quang",
    "Lào Cai",
    "Điện Biên",
    "Lai Châu",
    "Sơn La",
    "Yên Bái",
    "Hòa Bình",
    "Thái Nguyên",
    "Lạng Sơn",
    "Quảng Ninh",
    "Bắc Giang",
    "Phú Thọ",
    "Vĩnh Phúc",
    "Bắc Ninh",
    "Hải Dương",
    "Hải Phòng",
    "Hưng Yên",
    "Thái Bình",
    "Hà Nam",
    "Nam Định",
    "Ninh Bình",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Quảng Bình",
    "Quảng Trị",
    "Thừa Thiên Huế",
    "Đà Nẵng",
    "Quảng Nam",
    "Quảng Ngãi",
    "Bình Định",
    "Phú Yên",
    "Khánh Hòa",
    "Ninh Thuận",
    "Bình Thuận",
    "Kon Tum",
    "Gia Lai",
    "Đắk Lắk",
    "Đắk Nông",
    "Lâm Đồng",
    "Bình Phước",
    "Tây Ninh",
    "Bình Dương",
    "Đồng Nai",
    "Bà Rịa - Vũng Tàu",
    "Hồ Chí Minh",
    "Long An",
    "Tiền Giang",
    "Bến Tre",
    "Trà Vinh",
    "Vĩnh Long",
    "Đồng Tháp",
    "An Giang",
    "Kiên Giang",
    "Cần Thơ",
    "Hậu Giang",
    "Sóc Trăng",
    "Bạc Liêu",
    "Cà Mau",
]
SYLLABLES = [
    "An",
    "Bình",
    "Phú",
    "Hòa",
    "Thạnh",
    "Tân",
    "Long",
    "Mỹ",
    "Phước",
    "Thành",
    "Hưng",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Trung",
    "Lộc",
    "Khánh",
    "Hiệp",
    "Thuận",
    "Quang",
    "Minh",
    "Đức",
    "Hải",
    "Sơn",
    "Lâm",
    "Hà",
    "Vĩnh",
    "Xuân",
    "Thủy",
    "Kim",
    "Ninh",
    "Định",
    "Yên",
    "Cát",
    "Gia",
    "Hồng",
    "Lạc",
    "Châu",
    "Phong",
    "Nghĩa",
    "Lợi",
    "Thới",
    "Hậu",
    "Tiến",
    "Quý",
    "Điền",
    "Mai",
    "Thịnh",
    "Tường",
    "Văn",
    "Vân",
    "Liên",
    "Hội",
    "Cường",
    "Kiều",
    "Tuy",
    "Ea",
    "Hòa Bình",
]
MINISTRIES = [
    "Bộ Tài chính",
    "Bộ Nội vụ",
    "Bộ Công an",
    "Bộ Quốc phòng",
    "Bộ Ngoại giao",
    "Bộ Tư pháp",
    "Bộ Kế hoạch và Đầu tư",
    "Bộ Công Thương",
    "Bộ Nông nghiệp và Phát triển nông thôn",
    "Bộ Giao thông vận tải",
    "Bộ Xây dựng",
    "Bộ Tài nguyên và Môi trường",
    "Bộ Thông tin và Truyền thông",
    "Bộ Lao động - Thương binh và Xã hội",
    "Bộ Văn hóa, Thể thao và Du lịch",
    "Bộ Khoa học và Công nghệ",
    "Bộ Giáo dục và Đào tạo",
    "Bộ Y tế",
    "Ủy ban Dân tộc",
    "Ngân hàng Nhà nước Việt Nam",
    "Thanh tra Chính phủ",
    "Văn phòng Chính phủ",
    "Kiểm toán Nhà nước",
    "Bảo hiểm xã hội Việt Nam",
    "Thông tấn xã Việt Nam",
    "Đài Truyền hình Việt Nam",
    "Đài Tiếng nói Việt Nam",
    "Viện Hàn lâm Khoa học xã hội Việt Nam",
    "Viện Hàn lâm Khoa học và Công nghệ Việt Nam",
    "Ủy ban Quản lý vốn nhà nước tại doanh nghiệp",
]
MINISTRY_UNITS = [
    "Văn phòng",
    "Vụ Tổ chức cán bộ",
    "Vụ Pháp chế",
    "Vụ Kế hoạch - Tài chính",
    "Thanh tra",
    "Vụ Hợp tác quốc tế",
    "Cục Công nghệ thông tin",
    "Vụ Tổng hợp",
    "Cục Quản lý",
    "Trung tâm Thông tin",
    "Viện Chiến lược",
    "Tạp chí",
    "Báo",
    "Trường Đào tạo cán bộ",
]
DEPARTMENTS = [
    "Văn phòng UBND",
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Kế hoạch và Đầu tư",
    "Sở Tư pháp",
    "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Giao thông vận tải",
    "Sở Xây dựng",
    "Sở Tài nguyên và Môi trường",
    "Sở Thông tin và Truyền thông",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Thanh tra",
    "Ban Dân tộc",
    "Ban Quản lý các khu công nghiệp",
    "Sở Ngoại vụ",
]
DEPARTMENT_UNITS = [
    "Văn phòng",
    "Thanh tra",
    "Phòng Kế hoạch - Tài chính",
    "Phòng Tổ chức cán bộ",
    "Chi cục",
    "Trung tâm Dịch vụ",
    "Trung tâm Thông tin",
    "Phòng Quản lý",
    "Trung tâm Kiểm định",
    "Ban Quản lý dự án",
    "Phòng Nghiệp vụ",
    "Trung tâm Phát triển",
]
DISTRICT_UNITS = [
    "Văn phòng HĐND và UBND",
    "Phòng Nội vụ",
    "Phòng Tài chính - Kế hoạch",
    "Phòng Tư pháp",
    "Phòng Tài nguyên và Môi trường",
    "Phòng Lao động - Thương binh và Xã hội",
    "Phòng Văn hóa và Thông tin",
    "Phòng Giáo dục và Đào tạo",
    "Phòng Y tế",
    "Phòng Kinh tế và Hạ tầng",
    "Phòng Nông nghiệp và Phát triển nông thôn",
    "Thanh tra",
]
COMMUNE_UNITS = [
    "Trường Mầm non",
    "Trường Tiểu học",
    "Trường Trung học cơ sở",
    "Trạm Y tế",
    "Hội Nông dân",
    "Hội Liên hiệp Phụ nữ",
    "Đoàn Thanh niên",
    "Ủy ban Mặt trận Tổ quốc",
]
# What a clerk types, letter by letter included (the box asks from two letters on).
QUERIES = [
    "ta",
    "tai",
    "tai ch",
    "tai chinh",
    "so tai chinh",
    "Sở Tài chính",
    "STC",
    "ub",
    "ubnd",
    "ubnd xa",
    "ubnd huyen",
    "ubnd xa an",
    "uy ban nhan dan",
    "phong tai chinh ke hoach",
    "giao duc",
    "so giao duc va dao tao",
    "bo noi vu",
    "bo tai chinh",
    "van phong chinh phu",
    "truong tieu hoc",
    "tram y te xa",
    "hoi nong dan xa an hoa",
    "thanh tra",
    "000.00.32",
    "000.00.32.H46",
    "000.00",
    "H46",
    "xa phuong",
    "zzz",
    "chinh",
]


@dataclass(frozen=True)
class Row:
    id: str
    pid: str
    code: str
    name: str
    mail: str = ""
    deleted: bool = False


def axis_id(code: str) -> str:
    return str(uuid.uuid5(NS, code))


def place(seed: int) -> str:
    first = SYLLABLES[seed % len(SYLLABLES)]
    second = SYLLABLES[(seed // len(SYLLABLES) * 7 + seed * 3 + 1) % len(SYLLABLES)]
    return first if first == second else f"{first} {second}"


def generate() -> Iterator[Row]:
    """Parents first: ministries and their units, then each province's tree."""
    for m, name in enumerate(MINISTRIES, start=1):
        root = f"000.00.00.G{m:02d}"
        yield Row(axis_id(root), "", root, name, f"vanthu@g{m:02d}.gov.vn")
        for u in range(1, 41):
            code = f"000.00.{u:02d}.G{m:02d}"
            unit = MINISTRY_UNITS[u % len(MINISTRY_UNITS)]
            yield Row(axis_id(code), axis_id(root), code, f"{unit} - {name}")
    for p, province in enumerate(PROVINCES, start=1):
        block = f"H{p:02d}"
        system, root = f"00.{p:02d}.W00", f"000.00.00.{block}"
        yield Row(axis_id(system), "", system, f"Hệ thống quản lý văn bản tỉnh {province}")
        yield Row(axis_id(root), axis_id(system), root, f"Ủy ban nhân dân tỉnh {province}")
        for d, department in enumerate(DEPARTMENTS, start=1):
            code = f"000.00.{d:02d}.{block}"
            yield Row(axis_id(code), axis_id(root), code, f"{department} tỉnh {province}")
            for u, unit in enumerate(DEPARTMENT_UNITS, start=1):
                sub = f"000.{u:02d}.{d:02d}.{block}"
                yield Row(axis_id(sub), axis_id(code), sub, f"{unit} - {department} {province}")
        for k in range(11):
            district = place(p * 31 + k)
            kind = "thành phố" if k == 0 else ("thị xã" if k == 1 else "huyện")
            dcode = f"000.00.{31 + k}.{block}"
            council = "Ủy ban nhân dân" if (p + k) % 2 else "UBND"
            yield Row(axis_id(dcode), axis_id(root), dcode, f"{council} {kind} {district}")
            for u, unit in enumerate(DISTRICT_UNITS, start=1):
                sub = f"000.{u:02d}.{31 + k}.{block}"
                yield Row(axis_id(sub), axis_id(dcode), sub, f"{unit} {kind} {district}")
            for c in range(16 if k % 3 == 0 else 15):
                commune = place(p * 997 + k * 53 + c * 7)
                ckind = "phường" if k == 0 else ("thị trấn" if c == 0 else "xã")
                ccode = f"000.{20 + c}.{31 + k}.{block}"
                yield Row(axis_id(ccode), axis_id(dcode), ccode, f"{council} {ckind} {commune}")
                for u, unit in enumerate(COMMUNE_UNITS, start=1):
                    sub = f"{u:03d}.{20 + c}.{31 + k}.{block}"
                    yield Row(axis_id(sub), axis_id(ccode), sub, f"{unit} {ckind} {commune}")
    for n in range(10):  # what a real list carries too
        yield Row(f"bad-{n}", "", f"vxp.saas.{n:02d}", f"Hệ thống thử nghiệm {n}")


def changes(rows: list[Row], batch: int) -> tuple[list[Row], list[Row]]:
    """500 changes (300 renamed, 100 new schools, 100 deleted), different for each `batch`: the
    delta alone, and the full list carrying them."""
    valid = [r for r in rows if not r.id.startswith("bad-")]
    renamed = [replace(r, name=f"{r.name} ({batch})") for r in valid[1001 + batch : 61001 : 200]]
    deleted = [replace(r, deleted=True) for r in valid[2000 + batch * 7 : 102000 : 1000]]
    commune = axis_id(f"000.{20 + batch}.31.H01")
    new = [
        Row(
            axis_id(f"new-{batch}-{n}"),
            commune,
            f"{n + 9:03d}.{20 + batch}.31.H01",
            f"Điểm trường mới {n}",
        )
        for n in range(100)
    ]
    delta = renamed + new + deleted
    changed = {r.id: r for r in renamed}
    gone = {r.id for r in deleted}
    full = [changed.get(r.id, r) for r in rows if r.id not in gone] + new
    return delta, full


async def directory_rebuilt(sessions: object) -> None:
    async with sessions() as s:  # type: ignore[operator]
        holder = directory._HOLDERS[s.get_bind()]
        if holder.rebuild is not None:
            await holder.rebuild


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(url: str, label: str, rows: list[Row], repeat: int) -> list[tuple[str, str]]:
    engine = db.create_engine(url)
    await migrate.upgrade(engine)
    sessions = db.sessionmaker(engine)
    clock = FixedClock(datetime(2026, 12, 1, tzinfo=UTC))
    writes: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    out: list[tuple[str, str]] = []

    async def timed(name: str, work: object) -> float:
        writes.clear()
        begun = time.perf_counter()
        async with sessions() as s, s.begin():
            report = await work(s)  # type: ignore[operator]
        seconds = time.perf_counter() - begun
        detail = (
            ""
            if report is None
            else (
                f"+{report.added} ~{report.updated} ={report.unchanged} -{report.deleted} "
                f"!{report.invalid}"
            )
        )
        out.append((name, f"{seconds:8.2f} s  {len(writes):6} write statements  {detail}"))
        print(f"  {label}: {name}: {seconds:.2f} s", flush=True)
        return seconds

    # Baseline: the same rows, a bare executemany INSERT into a scratch table.
    async with engine.begin() as c:
        await c.execute(text("CREATE TABLE bench_scratch (id TEXT, code TEXT, name TEXT)"))
    params = [{"id": r.id, "code": r.code, "name": r.name} for r in rows]

    async def scratch(s: object) -> None:
        await s.execute(  # type: ignore[attr-defined]
            text("INSERT INTO bench_scratch VALUES (:id, :code, :name)"), params
        )

    baseline = await timed("baseline: bare INSERT of the rows", scratch)
    async with sessions() as s, s.begin():
        office = await organisations.create_agency(
            s, clock=clock, code="000.00.01.H46", name="Văn phòng UBND tỉnh", short_name="VP"
        )
        await organisations.create_unit(
            s, clock=clock, agency=office, name="Phòng Kinh tế", short_name="KT"
        )
    first = await timed(
        "first full sync",
        lambda s: directory.sync(s, clock=clock, rows=rows, full=True),
    )
    clock.advance(timedelta(hours=1))
    await timed(
        "the same list again", lambda s: directory.sync(s, clock=clock, rows=rows, full=True)
    )
    _, full = changes(rows, 1)
    clock.advance(timedelta(hours=1))
    await timed(
        "full list with 500 changes",
        lambda s: directory.sync(s, clock=clock, rows=full, full=True),
    )
    delta, _ = changes(rows, 2)
    clock.advance(timedelta(hours=1))
    await timed(
        "delta of 500 more (getSynchronizeUnit)",
        lambda s: directory.sync(s, clock=clock, rows=delta, full=False),
    )
    out.append(("(first sync / baseline)", f"{first / baseline:8.1f} ×"))
    if engine.dialect.name == "postgresql":
        async with engine.connect() as c:
            await c.execution_options(isolation_level="AUTOCOMMIT")
            await c.execute(text("ANALYZE agencies"))

    begun = time.perf_counter()
    async with sessions() as s:
        await directory.search(s, "tai chinh", near=office.code)
    out.append(
        (
            "index build (first search after a change)",
            f"{(time.perf_counter() - begun) * 1000:8.0f} ms",
        )
    )

    async def one(query: str) -> float:
        begun = time.perf_counter()
        async with sessions() as s:
            await directory.search(s, query, near=office.code, exclude_codes=[office.code])
        return (time.perf_counter() - begun) * 1000

    async def by_id() -> float:
        begun = time.perf_counter()
        async with sessions() as s:
            await s.scalar(select(Agency.name).where(Agency.id == office.id))
        return (time.perf_counter() - begun) * 1000

    for query in QUERIES:  # warm
        await one(query)
    base = [await by_id() for _ in range(repeat * 5)]
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    for _ in range(repeat):
        for query in QUERIES:
            timings[query].append(await one(query))
    every = [t for ts in timings.values() for t in ts]
    b50 = percentile(base, 50)
    out.append(("baseline: one agency by id (p50)", f"{b50:8.2f} ms"))
    out.append(
        (
            f"search, {len(QUERIES)} queries × {repeat}: p50 / p95 / max",
            f"{percentile(every, 50):8.2f} / {percentile(every, 95):.2f} / {max(every):.2f} ms  "
            f"(p50 {percentile(every, 50) / b50:.1f} × baseline)",
        )
    )
    slowest = sorted(timings, key=lambda q: -percentile(timings[q], 95))[:5]
    for query in slowest:
        out.append((f"  slowest: {query!r} p95", f"{percentile(timings[query], 95):8.2f} ms"))
    group_times = []
    for _ in range(max(3, repeat // 5)):
        begun = time.perf_counter()
        async with sessions() as s:
            found = await directory.groups(s, agency=office)
        group_times.append((time.perf_counter() - begun) * 1000)
    sizes = ", ".join(f"{g.key} {len(g.members)}" for g in found)
    out.append(("groups of a province (p50)", f"{percentile(group_times, 50):8.1f} ms  ({sizes})"))
    # One more change: the next search answers from the previous index (after REBUILD_WAIT)
    # while this process rebuilds in the background; the search after that has the change.
    renamed = [replace(rows[5], name=rows[5].name + " (đổi tên)")]
    async with sessions() as s, s.begin():
        await directory.sync(s, clock=clock, rows=renamed, full=False)
    during = await one("tai chinh")
    await directory_rebuilt(sessions)
    after = await one(renamed[0].name)
    out.append(("search right after a change / once rebuilt", f"{during:8.1f} / {after:.1f} ms"))
    await engine.dispose()
    return out


async def run(args: argparse.Namespace) -> None:
    rows = list(generate())
    if args.agencies:
        rows = rows[: args.agencies]
    print(f"{len(rows):,} directory rows generated", flush=True)
    results: dict[str, list[tuple[str, str]]] = {}
    work = Path(tempfile.mkdtemp(prefix="eoffice-bench-directory-"))
    results["SQLite"] = await bench(
        f"sqlite+aiosqlite:///{work / 'bench.db'}", "SQLite", rows, args.repeat
    )
    if args.pg:
        admin = await asyncpg.connect(f"{PG}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{NAME}"')
        try:
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{NAME}"
            results["PostgreSQL"] = await bench(url, "PostgreSQL", rows, args.repeat)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
            await admin.close()
    load = os.getloadavg()
    print(f"\n{len(rows):,} rows, load average {load[0]:.1f} {load[1]:.1f}, {os.cpu_count()} CPUs")
    for database, lines in results.items():
        print(f"\n{database}")
        for name, value in lines:
            print(f"  {name:48} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agencies", type=int, default=0, help="cap the generated rows")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each search query")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL as well")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
