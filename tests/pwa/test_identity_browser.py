"""Passkeys in a real Chromium with the DevTools virtual authenticator: enrolment through an
invitation link at phone size, sign-in, user verification failing, a second passkey replacing the
first, used and expired invitations, and the administrator's users page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from backend import organisations
from backend.core import db
from backend.core.clock import FixedClock, SystemClock
from backend.core.models import Role, User
from backend.identity import users
from tests.conftest import run_async
from tests.support.browser import LiveServer, screenshot_path

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
IPAD = {"width": 820, "height": 1180}


@dataclass(frozen=True)
class Seeded:
    user_ids: dict[str, int]


def seed(server: LiveServer) -> Seeded:
    async def work() -> Seeded:
        engine = db.create_engine(server.settings.effective_database_url)
        clock = SystemClock()
        try:
            async with db.sessionmaker(engine)() as s, s.begin():
                agency = await organisations.create_agency(
                    s,
                    clock=clock,
                    code="000.00.01.H53",
                    short_name="VP",
                    name="Văn phòng Ủy ban nhân dân tỉnh Tây Ninh",
                )
                unit = await organisations.create_unit(
                    s, clock=clock, agency=agency, name="Phòng Kinh tế", short_name="KT"
                )
                leader = await users.create_user(
                    s,
                    clock=clock,
                    agency=agency,
                    username="ntmai",
                    full_name="Nguyễn Thị Mai",
                    title="Phó Chủ tịch UBND tỉnh",
                    roles={Role.LEADER, Role.UNIT_HEAD},
                    unit=unit,
                )
                admin = await users.create_user(
                    s,
                    clock=clock,
                    agency=agency,
                    username="qtri",
                    full_name="Lê Văn Quản",
                    title="Quản trị hệ thống",
                    roles={Role.ADMIN},
                )
                return Seeded(user_ids={"leader": leader.id, "admin": admin.id})
        finally:
            await engine.dispose()

    return run_async(work())


def invitation_link(server: LiveServer, user_id: int, *, issued_at: datetime | None = None) -> str:
    async def work() -> str:
        engine = db.create_engine(server.settings.effective_database_url)
        clock = FixedClock(issued_at) if issued_at else SystemClock()
        try:
            async with db.sessionmaker(engine)() as s, s.begin():
                person = await s.get_one(User, user_id)
                issued = await users.invite(s, clock=clock, user=person)
        finally:
            await engine.dispose()
        return f"{server.url}/enrol/{issued.token}"

    return run_async(work())


class Authenticator:
    """A CDP virtual platform authenticator (resident keys, user verification) on one page."""

    OPTIONS: ClassVar[dict[str, Any]] = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.cdp: CDPSession = context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.add()

    def add(self) -> str:
        answer = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": self.OPTIONS})
        return str(answer["authenticatorId"])

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(answer["credentials"])

    def user_verified(self, verified: bool) -> None:
        self.cdp.send(
            "WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": verified}
        )

    def replace(self) -> list[dict[str, Any]]:
        """Swap in a fresh authenticator (a second device); returns the old one's credentials."""
        old = self.credentials()
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})
        self.id = self.add()
        return old

    def restore(self, credentials: list[dict[str, Any]]) -> None:
        for credential in credentials:
            self.cdp.send(
                "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
            )


# Chromium's virtual authenticator answers a conditional (autofill) request at once, where a person
# would pick the passkey from the autofill list. Tests of the explicit button switch it off.
NO_AUTOFILL = """
Object.defineProperty(PublicKeyCredential, "isConditionalMediationAvailable", {
  value: () => Promise.resolve(false), configurable: true, writable: true,
});
"""


@pytest.fixture
def phone(browser: Browser) -> Iterator[tuple[BrowserContext, Page]]:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )  # type: ignore[arg-type]
    context.add_init_script(NO_AUTOFILL)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield context, page
    context.close()
    assert errors == []


def enrol_through(page: Page, link: str, name: str = "iPhone của tôi") -> None:
    page.goto(link)
    expect(page.locator("h1")).to_contain_text("Chào mừng")
    page.fill("#passkey-name", name)
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    page.wait_for_url(link.split("/enrol/")[0] + "/")


def open_me(page: Page) -> None:
    """ "Tôi" (its tab; pages below a destination show no tab bar on a phone: go there)."""
    tab = page.locator(".tab[data-tab=me]")
    if not tab.is_visible():
        page.locator(".backlink").click()  # e.g. from the passkeys page, back to "Tôi"
        page.wait_for_load_state()
    if "/me" not in page.url:
        tab.click()
    page.wait_for_url("**/me")


def sign_out(page: Page) -> None:
    # Signing out lives under "Tôi" with the other account things.
    open_me(page)
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("#signin-reason")).to_contain_text("Bạn đã đăng xuất")


def sign_out_quietly(page: Page) -> None:
    open_me(page)
    page.get_by_role("button", name="Đăng xuất").click()


def test_newcomer_enrols_on_a_phone_signs_out_and_signs_in_again(
    live_server: LiveServer, phone: tuple[BrowserContext, Page]
) -> None:
    context, page = phone
    seeded = seed(live_server)
    authenticator = Authenticator(context, page)
    link = invitation_link(live_server, seeded.user_ids["leader"])
    page.goto(link)
    page.screenshot(path=screenshot_path("identity-enrol-phone"), full_page=True)
    enrol_through(page, link)
    # A real signed-in home, in Vietnamese.
    assert page.locator("html").get_attribute("lang") == "vi"
    expect(page.locator("h1")).to_have_text("Xin chào, Nguyễn Thị Mai")
    expect(page.locator("#me-title")).to_have_text("Phó Chủ tịch UBND tỉnh")
    expect(page.locator("#me-agency")).to_have_text("Văn phòng Ủy ban nhân dân tỉnh Tây Ninh")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshot_path("identity-home-phone"), full_page=True)
    # "Tôi": who one is, and the account things.
    page.get_by_role("link", name="Tôi", exact=True).click()
    expect(page.locator("#me-roles")).to_have_text("Lãnh đạo, Trưởng đơn vị")
    expect(page.get_by_role("link", name="Khóa truy cập của bạn")).to_be_visible()
    expect(page.get_by_role("link", name="Nơi bạn đang đăng nhập")).to_be_visible()
    credentials = authenticator.credentials()
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]

    sign_out(page)
    page.screenshot(path=screenshot_path("identity-signin-phone"), full_page=True)
    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    page.wait_for_url(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("Xin chào, Nguyễn Thị Mai")
    assert authenticator.credentials()[0]["signCount"] >= 2

    # The same link cannot be used twice.
    page.goto(link)
    expect(page.locator(".notice--error")).to_contain_text("đã được sử dụng")


def test_passkey_autofill_signs_in_through_conditional_mediation(
    live_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(viewport=IPAD, has_touch=True)  # type: ignore[arg-type]
    page = context.new_page()
    seeded = seed(live_server)
    Authenticator(context, page)
    enrol_through(page, invitation_link(live_server, seeded.user_ids["leader"]))
    sign_out_quietly(page)
    # The sign-in page starts a conditional request; the virtual authenticator answers it the
    # way a person picking the passkey from the autofill list would.
    page.wait_for_url(live_server.url + "/")
    expect(page.locator("h1")).to_have_text("Xin chào, Nguyễn Thị Mai")
    page.screenshot(path=screenshot_path("identity-home-ipad"), full_page=True)
    context.close()


def test_sign_in_is_refused_when_user_verification_fails(
    live_server: LiveServer, phone: tuple[BrowserContext, Page]
) -> None:
    context, page = phone
    seeded = seed(live_server)
    authenticator = Authenticator(context, page)
    enrol_through(page, invitation_link(live_server, seeded.user_ids["leader"]))
    sign_out(page)
    authenticator.user_verified(False)
    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    error = page.locator("#passkey-signin .form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("không xác minh được bạn")
    assert page.url.startswith(live_server.url + "/signin")
    page.goto(live_server.url + "/account/sessions")
    assert "/signin" in page.url


def test_second_passkey_added_then_first_revoked(
    live_server: LiveServer, phone: tuple[BrowserContext, Page]
) -> None:
    context, page = phone
    seeded = seed(live_server)
    authenticator = Authenticator(context, page)
    enrol_through(page, invitation_link(live_server, seeded.user_ids["leader"]), "iPhone cũ")
    page.goto(live_server.url + "/account/passkeys")
    first_device = authenticator.replace()
    page.fill("#passkey-name", "iPad mới")
    page.get_by_role("button", name="Thêm khóa truy cập").click()
    expect(page.locator("#passkey-list li")).to_have_count(2)
    page.screenshot(path=screenshot_path("identity-passkeys-phone"), full_page=True)
    old = page.locator("#passkey-list li", has_text="iPhone cũ")
    old.get_by_role("button", name="Thu hồi").click()
    expect(page.locator("#passkey-list li")).to_have_count(1)
    expect(page.locator("#passkey-list")).to_contain_text("iPad mới")

    sign_out(page)
    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    page.wait_for_url(live_server.url + "/")
    sign_out(page)
    # The revoked passkey, still on the old device, no longer opens the door.
    authenticator.replace()
    authenticator.restore(first_device)
    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    expect(page.locator("#passkey-signin .form-error")).to_contain_text("không còn được chấp nhận")


def test_expired_invitation_is_refused(
    live_server: LiveServer, phone: tuple[BrowserContext, Page]
) -> None:
    _, page = phone
    seeded = seed(live_server)
    link = invitation_link(
        live_server, seeded.user_ids["leader"], issued_at=datetime.now(UTC) - timedelta(hours=73)
    )
    response = page.goto(link)
    assert response is not None and response.status == 410
    expect(page.locator(".notice--error")).to_contain_text("hết hạn")


@pytest.mark.parametrize("viewport", ["phone", "ipad"])
def test_admin_users_page_creates_a_user_and_shows_the_link_once(
    live_server: LiveServer, browser: Browser, viewport: str
) -> None:
    size = PHONE if viewport == "phone" else IPAD
    context = browser.new_context(viewport=size, device_scale_factor=2, has_touch=True)  # type: ignore[arg-type]
    page = context.new_page()
    seeded = seed(live_server)
    Authenticator(context, page)
    enrol_through(page, invitation_link(live_server, seeded.user_ids["admin"]))
    page.screenshot(path=screenshot_path(f"identity-home-admin-{viewport}"), full_page=True)
    page.get_by_role("link", name="Người dùng").first.click()
    form = page.locator("#create-user")
    form.get_by_label("Họ và tên").fill("Trần Văn Bình")
    form.get_by_label("Tên đăng nhập").fill("tvbinh")
    form.get_by_label("Chức vụ").fill("Chuyên viên Phòng Kinh tế")
    form.get_by_label("Chuyên viên").check()
    form.get_by_role("button", name="Tạo và gửi lời mời").click()
    link = page.locator("#invitation-link")
    expect(link).to_have_value(__import__("re").compile(r"/enrol/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.screenshot(path=screenshot_path(f"identity-admin-users-{viewport}"), full_page=True)
    page.goto(live_server.url + "/account/sessions")
    page.screenshot(path=screenshot_path(f"identity-sessions-{viewport}"), full_page=True)
    context.close()
