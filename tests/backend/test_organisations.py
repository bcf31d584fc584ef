from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import organisations
from backend.core import db
from backend.core.clock import FixedClock
from backend.core.errors import ConflictError, ValidationError
from backend.core.models import Agency, Invitation, Role, Unit, User
from backend.identity import users

pytestmark = pytest.mark.anyio
CLOCK = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = db.create_engine(database_url)
    async with db.sessionmaker(engine)() as s:
        yield s
    await engine.dispose()


async def province(s: AsyncSession) -> Agency:
    return await organisations.create_agency(
        s, clock=CLOCK, code="000.00.00.H53", name="UBND tỉnh Tây Ninh", short_name="UBND"
    )


@pytest.mark.parametrize("code", ["000.00.01.H53", "000.00.00.G22", " 000.20.31.h53 "])
def test_valid_agency_codes(code: str) -> None:
    assert organisations.AGENCY_CODE.match(organisations.validate_agency_code(code))


@pytest.mark.parametrize("code", ["", "000.00.01", "000.00.01.53", "00.00.01.H53", "000-00-01-H53"])
def test_invalid_agency_codes_get_a_vietnamese_message(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        organisations.validate_agency_code(code)
    assert "không đúng định dạng" in info.value.message_vi


async def test_agency_levels_follow_the_parent_and_stop_at_four(session: AsyncSession) -> None:
    parent = await province(session)
    codes = ["000.00.32.H53", "000.20.32.H53", "000.21.32.H53"]
    for code in codes:
        parent = await organisations.create_agency(
            session, clock=CLOCK, code=code, name=f"Cơ quan {code}", short_name="X", parent=parent
        )
    assert parent.level == 4
    with pytest.raises(ValidationError):
        await organisations.create_agency(
            session,
            clock=CLOCK,
            code="000.22.32.H53",
            name="Quá sâu",
            short_name="X",
            parent=parent,
        )


async def test_duplicate_agency_code_is_refused(session: AsyncSession) -> None:
    await province(session)
    with pytest.raises(ConflictError):
        await province(session)


async def test_merging_units_moves_people_and_keeps_history(session: AsyncSession) -> None:
    agency = await province(session)
    kt = await organisations.create_unit(
        session, clock=CLOCK, agency=agency, name="Phòng Kinh tế", short_name="KT"
    )
    ktn = await organisations.create_unit(
        session, clock=CLOCK, agency=agency, name="Phòng Kinh tế ngành", short_name="KTN"
    )
    person = await users.create_user(
        session,
        clock=CLOCK,
        agency=agency,
        username="cv.ktn",
        full_name="Ngô Văn Bình",
        roles={Role.SPECIALIST},
        unit=ktn,
    )
    await organisations.merge_units(session, clock=CLOCK, sources=[ktn], target=kt)
    await session.refresh(person)
    assert person.unit_id == kt.id
    merged = await session.get(Unit, ktn.id)
    assert merged is not None and not merged.active
    assert merged.merged_into_id == kt.id and merged.name == "Phòng Kinh tế ngành"
    assert (await organisations.current_unit(session, merged)).id == kt.id
    with pytest.raises(ConflictError):
        await organisations.merge_units(session, clock=CLOCK, sources=[ktn], target=kt)
    with pytest.raises(ValidationError):
        await organisations.merge_units(session, clock=CLOCK, sources=[kt], target=ktn)


async def test_user_roles_phone_and_validation(session: AsyncSession) -> None:
    agency = await province(session)
    user = await users.create_user(
        session,
        clock=CLOCK,
        agency=agency,
        username="PCT.Hung",
        full_name="Trần Văn Hùng",
        title="Phó Chủ tịch",
        roles={Role.LEADER, Role.UNIT_HEAD},
        phone="0912 345 678",
    )
    await session.commit()
    loaded = await session.scalar(select(User).where(User.username == "pct.hung"))
    assert loaded is not None
    assert loaded.roles == {Role.LEADER, Role.UNIT_HEAD}
    assert loaded.phone == "+84912345678"
    assert user.id == loaded.id
    for bad in ({"username": "có dấu"}, {"full_name": " "}, {"roles": set()}, {"phone": "12345"}):
        kwargs: dict[str, object] = {
            "username": "ok.user",
            "full_name": "Tên",
            "roles": {Role.CLERK},
            **bad,
        }
        with pytest.raises(ValidationError):
            await users.create_user(session, clock=CLOCK, agency=agency, **kwargs)  # type: ignore[arg-type]


async def test_invitation_stores_only_a_hash_and_expires_after_72_hours(
    session: AsyncSession,
) -> None:
    agency = await province(session)
    user = await users.create_user(
        session,
        clock=CLOCK,
        agency=agency,
        username="admin1",
        full_name="Quản trị",
        roles={Role.ADMIN},
    )
    issued = await users.invite(session, clock=CLOCK, user=user)
    await session.commit()
    row = await session.get(Invitation, issued.invitation_id)
    assert row is not None
    assert issued.token not in row.token_hash
    assert row.token_hash == users.hash_token(issued.token)
    expires = (
        row.expires_at.replace(tzinfo=UTC) if row.expires_at.tzinfo is None else row.expires_at
    )
    assert expires - CLOCK.now() == timedelta(hours=72)
    assert row.used_at is None and row.revoked_at is None
    link = users.invitation_url("https://eoffice.example.gov.vn", issued.token)
    assert link == f"https://eoffice.example.gov.vn/enrol/{issued.token}"
    second = await users.invite(session, clock=CLOCK, user=user)
    assert second.token != issued.token
