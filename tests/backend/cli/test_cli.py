"""The eoffice command, run in-process against real databases."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backend.cli.main import main
from backend.core import db
from backend.core.models import Agency, AuditEntry, Invitation, Role, Unit, User
from backend.demo import province
from backend.identity import users


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> dict[str, str]:
    values = {
        "EOFFICE_DATA_DIR": str(tmp_path / "data"),
        "EOFFICE_DATABASE_URL": database_url,
        "EOFFICE_BASE_URL": "https://eoffice.example.gov.vn",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def query(url: str, statement: object) -> list[object]:
    async def run() -> list[object]:
        engine = db.create_engine(url)
        try:
            async with db.sessionmaker(engine)() as s:
                return list((await s.execute(statement)).scalars())  # type: ignore[call-overload]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrate_demo_is_idempotent(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["demo", "--months", "0"]) == 0
    assert (
        "Loaded: 6 agencies, 10 units (7 active after merges), 8 demo users, 5 documents."
        in capsys.readouterr().out
    )
    assert main(["demo", "--months", "0"]) == 0
    assert "already present" in capsys.readouterr().out
    url = env["EOFFICE_DATABASE_URL"]
    hosted = select(func.count()).select_from(Agency).where(Agency.hosted.is_(True))
    assert query(url, hosted) == [6]
    # Around them, the province's directory (the six are in it too): the picker's recipients.
    assert query(url, select(func.count()).select_from(Agency)) == [len(province.DIRECTORY)]
    people = query(url, select(User))
    assert all(isinstance(u, User) and u.is_demo for u in people)
    roles = set().union(*(u.roles for u in people if isinstance(u, User)))
    assert roles == set(Role)
    units = [u for u in query(url, select(Unit)) if isinstance(u, Unit)]
    assert sum(1 for u in units if u.active) == 7
    assert main(["user", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Nguyễn Văn An — Chủ tịch UBND tỉnh (leader) [demo]" in listing


def test_admin_create_bootstraps_an_agency_and_prints_a_one_time_link(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "admin",
        "create",
        "--username",
        "qt.tinh",
        "--name",
        "Phan Thị Mai",
        "--agency",
        "000.00.00.H53",
    ]
    assert main(args) == 1  # the agency does not exist and no name was given
    assert "Không tìm thấy cơ quan" in capsys.readouterr().err
    args += ["--agency-name", "Ủy ban nhân dân tỉnh Tây Ninh", "--agency-short-name", "UBND"]
    assert main(args) == 0
    out = capsys.readouterr().out
    match = re.search(r"https://eoffice\.example\.gov\.vn/enrol/(\S+)", out)
    assert match is not None
    token = match.group(1)
    url = env["EOFFICE_DATABASE_URL"]
    hashes = query(url, select(Invitation.token_hash))
    assert hashes == [users.hash_token(token)]
    admin = query(url, select(User).where(User.username == "qt.tinh"))[0]
    assert isinstance(admin, User) and admin.roles == {Role.ADMIN}
    actions = query(url, select(AuditEntry.action).order_by(AuditEntry.id))
    assert actions == ["agency.created", "user.created", "invitation.created"]

    assert main(["user", "invite", "qt.tinh"]) == 0
    second = re.search(r"/enrol/(\S+)", capsys.readouterr().out)
    assert second is not None and second.group(1) != token
    assert main(["user", "invite", "khong.co"]) == 1
    assert main(args) == 1  # username taken
    assert "đã tồn tại" in capsys.readouterr().err


def test_configuration_errors_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EOFFICE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EOFFICE_BASE_URL", "localhost:8000")
    assert main(["migrate"]) == 2
    assert "base_url" in capsys.readouterr().err


def test_axis_register_without_an_axis_says_what_is_missing(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # (Registering against the axis itself: tests/backend/interchange/test_exchange_flow.py.)
    assert main(["axis", "register"]) == 1
    err = capsys.readouterr().err
    assert "Chưa cấu hình kết nối Trục liên thông văn bản quốc gia" in err
    assert "not configured" in err


def test_serve_with_several_workers_needs_a_shared_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EOFFICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EOFFICE_REDIS_URL", raising=False)
    assert main(["serve", "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert "cần một Redis dùng chung: đặt EOFFICE_REDIS_URL" in err
    assert "needs a shared Redis" in err
    assert main(["serve", "--workers", "0"]) == 2
    assert not (tmp_path / "data").exists()  # refused before anything was started or written
