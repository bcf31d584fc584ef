"""The one place that answers "may this person do this to this object".

A route declares what it needs (`routes.route(..., access=...)`); the route guard asks
`allows_route`. Handlers and domain code ask `may` with the object in hand, which adds the scope
rules: everything is inside the person's agency; a leader sees the whole agency, a unit head their
unit, a specialist what is assigned to them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from backend.core.models import Role


class Action(enum.StrEnum):
    # Anyone signed in, on their own account.
    VIEW_HOME = "home:view"
    MANAGE_OWN_ACCOUNT = "account:manage"
    # Administration inside the administrator's agency.
    MANAGE_USERS = "users:manage"
    MANAGE_SERVICE_ACCOUNTS = "service_accounts:manage"
    # Documents (the documents issue adds its routes; the scope rules live here already).
    VIEW_DOCUMENT = "document:view"
    REGISTER_DOCUMENT = "document:register"
    # The agency's registers (sổ đăng ký) hold every document: clerks and leaders only.
    VIEW_REGISTER = "register:view"
    # Handling incoming documents: route them (leaders; unit heads within their unit), work on
    # what one was given, and watch the agency's or unit's numbers.
    ASSIGN_DOCUMENT = "document:assign"
    HANDLE_DOCUMENT = "document:handle"
    VIEW_DASHBOARD = "dashboard:view"
    # One's own Web Push subscriptions (devices); the administrator's view of failed deliveries.
    MANAGE_PUSH = "push:manage"
    VIEW_PUSH_FAILURES = "push:failures"
    # Outgoing documents: draft one for a leader to sign; sign (or return) what waits for one's
    # signature; number, seal and issue signed documents (clerks).
    DRAFT_DOCUMENT = "document:draft"
    SIGN_DOCUMENT = "document:sign"
    ISSUE_DOCUMENT = "document:issue"


# Route access markers that are not actions.
PUBLIC = "public"
SIGNED_IN = "signed_in"
DEMO = "demo"  # routes that only exist in demo mode; no session needed


@dataclass(frozen=True)
class ApiScope:
    """A route of the JSON API, open to bearer tokens carrying `scope`."""

    scope: str


Access = str | Action | ApiScope

EVERYONE: frozenset[Action] = frozenset(
    {Action.VIEW_HOME, Action.MANAGE_OWN_ACCOUNT, Action.MANAGE_PUSH}
)
HANDLERS = {Action.VIEW_DOCUMENT, Action.HANDLE_DOCUMENT}
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: EVERYONE
    | {Action.MANAGE_USERS, Action.MANAGE_SERVICE_ACCOUNTS, Action.VIEW_PUSH_FAILURES},
    Role.LEADER: EVERYONE
    | HANDLERS
    | {Action.VIEW_REGISTER, Action.ASSIGN_DOCUMENT, Action.VIEW_DASHBOARD, Action.SIGN_DOCUMENT},
    Role.OFFICE_CHIEF: EVERYONE
    | HANDLERS
    | {Action.VIEW_REGISTER, Action.ASSIGN_DOCUMENT, Action.VIEW_DASHBOARD},
    Role.UNIT_HEAD: EVERYONE
    | HANDLERS
    | {Action.ASSIGN_DOCUMENT, Action.VIEW_DASHBOARD, Action.DRAFT_DOCUMENT},
    Role.SPECIALIST: EVERYONE | HANDLERS | {Action.DRAFT_DOCUMENT},
    Role.CLERK: EVERYONE
    | {Action.VIEW_DOCUMENT, Action.REGISTER_DOCUMENT, Action.VIEW_REGISTER, Action.ISSUE_DOCUMENT},
}
# Roles that see every document of their agency.
AGENCY_WIDE = frozenset({Role.LEADER, Role.OFFICE_CHIEF, Role.CLERK})
# Roles that route registered incoming documents (phân công) for the whole agency.
ROUTERS = frozenset({Role.LEADER, Role.OFFICE_CHIEF})
# API scopes a service account may be given.
API_SCOPES = {
    "profile:read": ("Đọc thông tin tài khoản dịch vụ", "Read the service account's profile"),
    "documents:read": ("Đọc văn bản và sổ đăng ký", "Read documents and registers"),
    "documents:write": ("Vào sổ văn bản đến", "Register incoming documents"),
}


@dataclass(frozen=True)
class Principal:
    """A signed-in person, as the policy sees them."""

    user_id: int
    agency_id: int
    unit_id: int | None
    roles: frozenset[Role]


@dataclass(frozen=True)
class ServicePrincipal:
    """A service account presenting a bearer token."""

    service_account_id: int
    agency_id: int
    scopes: frozenset[str]
    jti: str


@runtime_checkable
class AgencyScoped(Protocol):
    agency_id: int


@runtime_checkable
class UnitScoped(Protocol):
    agency_id: int
    unit_id: int | None


@dataclass(frozen=True)
class DocumentRef:
    """What the policy needs to know about a document (the documents issue passes its own)."""

    agency_id: int
    unit_id: int | None
    assignee_ids: Collection[int] = field(default_factory=tuple)
    # Units given a part in handling it (chủ trì, phối hợp, để biết): their heads see it.
    assignee_unit_ids: Collection[int] = field(default_factory=tuple)


def _actions(principal: Principal) -> frozenset[Action]:
    granted: frozenset[Action] = frozenset()
    for role in principal.roles:
        granted |= ROLE_ACTIONS[role]
    return granted


def _document_in_scope(principal: Principal, document: DocumentRef) -> bool:
    roles = principal.roles
    if roles & AGENCY_WIDE:
        return True
    unit_match = principal.unit_id is not None and (
        document.unit_id == principal.unit_id or principal.unit_id in document.assignee_unit_ids
    )
    if Role.UNIT_HEAD in roles and unit_match:
        return True
    return principal.user_id in document.assignee_ids


def may(principal: Principal | None, action: Action, obj: object = None) -> bool:
    """May `principal` do `action` (to `obj`, when given)?"""
    if principal is None or action not in _actions(principal):
        return False
    if obj is None:
        return True
    # Nothing crosses agency boundaries.
    if isinstance(obj, AgencyScoped) and obj.agency_id != principal.agency_id:
        return False
    if isinstance(obj, DocumentRef):
        return _document_in_scope(principal, obj)
    if action is Action.MANAGE_OWN_ACCOUNT:
        owner = getattr(obj, "user_id", None)
        return owner == principal.user_id
    return isinstance(obj, AgencyScoped)


def allows_route(access: Access, principal: Principal | None) -> bool:
    """Route-level check (no object yet): PUBLIC and DEMO are open, the rest need a person."""
    if access in (PUBLIC, DEMO):
        return True
    if principal is None:
        return False
    if access == SIGNED_IN:
        return True
    return isinstance(access, Action) and may(principal, access)


def allows_api(access: Access, principal: ServicePrincipal | None) -> bool:
    return (
        isinstance(access, ApiScope) and principal is not None and access.scope in principal.scopes
    )


def is_known(access: object) -> bool:
    return access in (PUBLIC, SIGNED_IN, DEMO) or isinstance(access, Action | ApiScope)
