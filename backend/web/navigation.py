"""The app's navigation: at most five destinations for the person's roles (a bottom tab bar on
phones and iPad portrait, a side rail in landscape), which one the page belongs to, and — the
installed app has no browser back button — where "back" goes from any page that is not a
destination itself."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from backend.identity import policy
from backend.identity.policy import WHOLE_AGENCY, Action, Principal

MAX_TABS = 5


@dataclass(frozen=True)
class Destination:
    key: str
    route: str
    query: str = ""
    # Paths below it belong to it (its detail pages): their back link leads to it.
    prefixes: tuple[str, ...] = ()


# In priority order: the first four the person may use, then "Tôi" (account things).
CANDIDATES = (
    Destination("home", "home"),
    Destination("to-sign", "sign_queue", prefixes=("/sign",)),
    Destination("my-work", "documents", query="inbox=viec-cua-toi"),
    Destination("documents", "documents", prefixes=("/documents", "/registers")),
    Destination("issue", "issue_queue", prefixes=("/issue",)),
    Destination("axis", "exchange_inbox", prefixes=("/axis/inbox",)),
    Destination("dashboard", "dashboard", prefixes=("/dashboard",)),
    Destination("drafts", "drafts_mine", prefixes=("/drafts",)),
    Destination("users", "admin_users", prefixes=("/admin",)),
)
ME = Destination("me", "me", prefixes=("/me", "/account", "/absences", "/signing-authority"))


def _allowed(principal: Principal, key: str) -> bool:
    may = policy.may
    if key == "home":
        return True
    if key == "to-sign":
        return may(principal, Action.SIGN_DOCUMENT)
    if key == "my-work":
        # A signer's work is their queue; the handlers' is "Việc của tôi".
        return may(principal, Action.HANDLE_DOCUMENT) and not may(principal, Action.SIGN_DOCUMENT)
    if key == "documents":
        return may(principal, Action.VIEW_DOCUMENT)
    if key == "issue":
        return may(principal, Action.ISSUE_DOCUMENT)
    if key == "axis":
        return may(principal, Action.REGISTER_DOCUMENT)
    if key == "dashboard":
        return may(principal, Action.VIEW_DASHBOARD, WHOLE_AGENCY) or may(
            principal, Action.VIEW_DASHBOARD
        )
    if key == "drafts":
        return may(principal, Action.DRAFT_DOCUMENT)
    return key == "users" and may(principal, Action.MANAGE_USERS)


def destinations(principal: Principal) -> list[Destination]:
    chosen = [d for d in CANDIDATES if _allowed(principal, d.key)][: MAX_TABS - 1]
    return [*chosen, ME]


@dataclass(frozen=True)
class Tab:
    key: str
    url: str
    current: bool


@dataclass(frozen=True)
class Nav:
    tabs: list[Tab]
    # The page is a destination itself (no back link; the tab bar shows on phones).
    top: bool
    # Where "back" goes from this page.
    back: str


def _url(request: Request, destination: Destination) -> str:
    path = request.url_for(destination.route).path
    return f"{path}?{destination.query}" if destination.query else path


def _owner(request: Request, tabs: list[Destination]) -> Destination | None:
    path, query = request.url.path, request.url.query
    for destination in tabs:
        base = request.url_for(destination.route).path
        if destination.query:
            if path == base and destination.query in query:
                return destination
            continue
        if path == base or any(path.startswith(p) for p in destination.prefixes):
            if destination.key == "documents" and "inbox=viec-cua-toi" in query:
                continue
            return destination
    return None


def state(request: Request, principal: Principal) -> Nav:
    tabs = destinations(principal)
    owner = _owner(request, tabs)
    home = request.url_for("home").path
    top = owner is not None and request.url.path == request.url_for(owner.route).path
    return Nav(
        tabs=[Tab(d.key, _url(request, d), d is owner) for d in tabs],
        top=top,
        back=_url(request, owner) if owner is not None and not top else home,
    )
