"""The Chairman is away; the Vice-Chairman signs "KT. CHỦ TỊCH" from her queue, in a real
Chromium at phone and iPad sizes: her queue holds her own KT. draft and the Chairman's (marked
as his, to return, not to sign); she signs hers by passkey and the signed document names her
and states for whom she signed. The signed PDF is checked by the library and by pdfsig."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from backend.core.models import User
from backend.identity import users
from backend.signing_flow import authority
from backend.signing_flow.tables import SignForm
from backend.web.app import create_app
from tests.backend.identity.conftest import seed_world
from tests.backend.signing_flow.conftest import resources_of
from tests.backend.signing_flow.test_authority import (
    HEAD_LINES,
    KT_LINES,
    draft,
    give,
    province_of,
    sent_id,
)
from tests.conftest import free_port, make_settings, run_async
from tests.pwa.test_identity_browser import Authenticator
from tests.pwa.test_signing_browser import SIZES, Scene, check_pdf, signed_versions
from tests.support.browser import screenshot_path, wait_until
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


@pytest.fixture
def scene(tmp_path: Path, sqlite_url: str, redis_url: str, signing_home: Path) -> Iterator[Scene]:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[dict[str, int], str]:
        async with LifespanManager(create_app(settings)) as app:
            res = resources_of(app)
            world = await province_of(app, await seed_world(app, res.clock))
            ids = world.user_ids
            head = await give(app, ids["admin"], ids["leader"], SignForm.HEAD)
            kt = await give(app, ids["leader"], ids["deputy"], SignForm.KT, title="Phó Chủ tịch")
            his = sent_id(
                await draft(app, world, f"g{head}", lines=HEAD_LINES, name="Người leader",
                            subject="Quyết định ban hành quy chế phối hợp")
            )  # fmt: skip
            hers = sent_id(
                await draft(app, world, f"g{kt}", lines=KT_LINES, name="Người deputy",
                            subject="Quyết định phê duyệt kế hoạch chuyển đổi số 2027")
            )  # fmt: skip
            async with res.sessions() as db, db.begin():
                today = authority.today(res.clock)
                chairman = await db.get_one(User, ids["leader"])
                await authority.mark_absence(
                    db, clock=res.clock, actor=chairman,
                    form=authority.AbsenceForm(
                        user_id=chairman.id, deputy_id=ids["deputy"], starts_on=today,
                        ends_on=today + timedelta(days=3), reason="Đi công tác Hà Nội",
                    ),
                )  # fmt: skip
                deputy = await db.get_one(User, ids["deputy"])
                issued = await users.invite(db, clock=res.clock, user=deputy)
        return {"his": his, "hers": hers}, f"{settings.origin}/enrol/{issued.token}"

    ids, link = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        yield Scene(server, ids, link)
    finally:
        server.stop()


@pytest.mark.parametrize("size", ["phone", "ipad"])
def test_the_vice_chairman_signs_kt_from_her_queue_while_the_chairman_is_away(
    browser: Browser, scene: Scene, size: str, tmp_path: Path
) -> None:
    context = browser.new_context(
        viewport=SIZES[size], device_scale_factor=2, is_mobile=size == "phone", has_touch=True
    )  # type: ignore[arg-type]
    page: Page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    Authenticator(context, page)
    page.goto(scene.link)
    page.fill("#passkey-name", "iPad của tôi")
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(scene.server.url + "/")

    page.goto(f"{scene.server.url}/sign")
    items = page.locator(".doclist .docitem")
    expect(items).to_have_count(2)
    his = items.filter(has_text="quy chế phối hợp")
    expect(his).to_contain_text("Của Người leader (vắng mặt)")
    # The Chairman's draft is not hers to batch-sign: it has no checkbox.
    expect(his.locator("input[type=checkbox]")).to_have_count(0)
    page.screenshot(path=screenshot_path(f"authority-queue-{size}"), full_page=True)

    items.filter(has_text="chuyển đổi số").locator("a").click()
    expect(page.locator(".dochead__meta")).to_contain_text(
        "TM. ỦY BAN NHÂN DÂN / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"
    )
    wait_until(
        page,
        "() => { const i = document.querySelector('.page img');"
        " return i && i.complete && i.naturalWidth > 0; }",
    )
    page.get_by_role("button", name="Ký số").click()
    sheet = page.locator("#confirm-sheet")
    expect(sheet).to_be_visible()
    page.screenshot(path=screenshot_path(f"authority-sheet-{size}"))
    sheet.get_by_role("button", name="Xác nhận bằng khóa truy cập").click()
    page.wait_for_url(f"**/documents/{scene.ids['hers']}?signed=1", timeout=30_000)
    check = page.locator(".sigcheck")
    expect(check).to_contain_text("Đã kiểm tra: hợp lệ")
    expect(check).to_contain_text("Người deputy")
    expect(check).to_contain_text("KT. CHỦ TỊCH / PHÓ CHỦ TỊCH (ký thay Chủ tịch)")
    page.screenshot(path=screenshot_path(f"authority-signed-{size}"), full_page=True)

    # The Chairman's draft: she may only return it, with the reason already written.
    page.goto(f"{scene.server.url}/sign/{scene.ids['his']}")
    expect(page.locator(".notice--warning")).to_contain_text("vắng mặt")
    expect(page.get_by_role("button", name="Ký số")).to_have_count(0)
    page.get_by_role("button", name="Trả lại").click()
    expect(page.locator("#return-comment")).to_contain_text("vắng mặt")
    page.screenshot(path=screenshot_path(f"authority-return-{size}"))
    context.close()
    assert errors == []

    versions = signed_versions(scene.server.settings, scene.ids["hers"])
    assert len(versions) == 2
    check_pdf(scene.server.settings, versions[1], tmp_path / "signed.pdf")
