"""The issued document's page images at phone and iPad sizes, in a real Chromium: a Decree 30
draft turned by /Rotate 90 (landscape on screen) and a plain A4 one, signed by the leader
(passkey) and issued by the clerk through the app; the reader shows page 1 with the number and
the date in the draft's own lines and the last page with signature and seal in the signer
block, upright. Screenshots go to tests/.artifacts/ for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from backend.core.models import User
from backend.identity import users
from backend.signing_flow import keyring
from backend.web.app import create_app
from signing import make_sample_pdf
from tests.backend.identity.conftest import browser_like, enrol, invite, seed_world, sign_in_as
from tests.backend.signing_flow.conftest import Leader, MemoryKeys, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare
from tests.conftest import free_port, make_settings, run_async
from tests.pwa.test_signing_browser import enrolled_page
from tests.support.authenticator import SoftAuthenticator
from tests.support.browser import screenshot_path
from tests.support.lifespan import LifespanManager
from tests.support.pki import install_pki, make_signing_home
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.browser

DRAFTS = {"rotate-90": {"pages": 2, "landscape": True, "rotate": 90}, "a4": {"pages": 1}}


@pytest.fixture(scope="module")
def signing_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signing_home(tmp_path_factory.mktemp("signing-home"))


@pytest.mark.parametrize("size", ["phone", "ipad"])
@pytest.mark.parametrize("kind", list(DRAFTS))
def test_the_issued_pages_show_number_date_signature_and_seal_in_place(
    browser: Browser,
    tmp_path: Path,
    sqlite_url: str,
    redis_url: str,
    signing_home: Path,
    size: str,
    kind: str,
) -> None:
    port = free_port()
    settings = make_settings(tmp_path, sqlite_url, redis_url, base_url=f"http://localhost:{port}")
    install_pki(signing_home, settings.data_dir)

    async def seed() -> tuple[int, str]:
        pki = keyring.load(settings)
        async with LifespanManager(create_app(settings, signing_keys=MemoryKeys(pki))) as app:
            world = await seed_world(app, resources_of(app).clock)
            document_id = await make_draft(
                app,
                world,
                type_code="QD",
                pdf=make_sample_pdf(**DRAFTS[kind]),  # type: ignore[arg-type]
            )
            authenticator = SoftAuthenticator(origin=settings.origin)
            async with app.client(settings.origin) as http:
                browser_like(http).headers["Origin"] = settings.origin
                enrolled = await enrol(
                    http, await invite(app, world.user_ids["leader"]), authenticator
                )
                assert enrolled.status_code == 200, enrolled.text
                http.cookies.clear()
                await sign_in_as(app, http, world.user_ids["leader"])
                leader = Leader(world, http, authenticator)
                tx_id = await prepare(leader, document_id)
                done = await confirm(leader, tx_id, await assertion(leader, tx_id))
                assert done.status_code == 200  # type: ignore[attr-defined]
            async with app.client(settings.origin) as http:
                browser_like(http).headers["Origin"] = settings.origin
                await sign_in_as(app, http, world.user_ids["clerk"])
                issued = await http.post(f"/issue/{document_id}")
                assert issued.status_code == 303, issued.text
            res = resources_of(app)
            async with res.sessions() as db, db.begin():
                clerk = await db.get_one(User, world.user_ids["clerk"])
                link = await users.invite(db, clock=res.clock, user=clerk)
        return document_id, f"{settings.origin}/enrol/{link.token}"

    document_id, link = run_async(seed())
    server = ProcessServer(settings, port).start()
    try:
        page = enrolled_page(browser, link, server, size)
        page.goto(f"{server.url}/documents/{document_id}")
        expect(page.locator(".dochead__number")).to_contain_text("/QĐ-VP")
        images = page.locator("figure.page img")
        count = int(DRAFTS[kind]["pages"])
        expect(images).to_have_count(count)
        for index in range(count):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            expect(image).to_have_js_property("complete", True)
            width = image.evaluate("i => i.naturalWidth")
            height = image.evaluate("i => i.naturalHeight")
            assert width > 0 and height > 0
            if kind == "rotate-90":
                assert width > height  # shown turned, as the draft was laid out
            shown = image.bounding_box()
            assert shown is not None  # displayed in its own proportions, not squeezed into A4
            assert shown["width"] / shown["height"] == pytest.approx(width / height, rel=0.03)
            image.screenshot(path=screenshot_path(f"issued-layout-{kind}-{size}-page{index + 1}"))
        page.screenshot(path=screenshot_path(f"issued-layout-{kind}-{size}"), full_page=True)
        page.context.close()
    finally:
        server.stop()
