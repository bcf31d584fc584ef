"""The one place that answers "may this person do this to this object".

A route declares what it needs (`routes.route(..., access=...)`); the route guard asks
`allows_route`. Handlers, domain code and templates ask `may` with the object in hand, which adds
the scope rules: everything is inside the person's agency; a leader sees the whole agency, a unit
head their unit, a specialist what is assigned to them; a draft is its author's and its named
signer's. Signing follows the signer's grants (`GrantRef`: a form of Decree 30 — the head's own,
KT., Q., TL., TUQ. — with its document types and dates) and absences: an absent signer's drafts
are their deputy's to see and return for the period, not to sign.

The objects are small frozen refs (`DocumentRef`, `HopRef`, `DraftRef`, `WHOLE_AGENCY`) that the
domain packages build from their rows; the state a step needs (a draft still awaiting its
signature, a document still awaiting routing) is the domain's to check, not the policy's.
`documents.queries.document_scope` is the SQL twin of `may(p, VIEW_DOCUMENT, ref)`, and
`drafts.to_sign` the list twin of `may(p, SIGN_DOCUMENT, ref)`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from backend.core.models import Role


class Action(enum.StrEnum):
    # Anyone signed in, on their own account.
    VIEW_HOME = "home:view"
    MANAGE_OWN_ACCOUNT = "account:manage"
    # Administration inside the administrator's agency.
    MANAGE_USERS = "users:manage"
    MANAGE_SERVICE_ACCOUNTS = "service_accounts:manage"
    # The agencies known here: our own (hosted) and the national axis' directory.
    VIEW_AGENCIES = "agencies:view"
    # Documents (the documents issue adds its routes; the scope rules live here already).
    VIEW_DOCUMENT = "document:view"
    REGISTER_DOCUMENT = "document:register"
    # The agency's registers (sổ đăng ký) hold every document: clerks and leaders only.
    VIEW_REGISTER = "register:view"
    # Handling incoming documents. ASSIGN: route a document (a DocumentRef, or WHOLE_AGENCY for
    # "any of the agency's": leaders and the office chief) or hand a unit's hop down (a HopRef:
    # that unit's head). FORWARD: put a document before a leader (the office chief). HANDLE: work
    # on a hop one holds. VIEW_DASHBOARD: the agency's numbers (WHOLE_AGENCY) or one's unit's.
    ASSIGN_DOCUMENT = "document:assign"
    FORWARD_DOCUMENT = "document:forward"
    HANDLE_DOCUMENT = "document:handle"
    VIEW_DASHBOARD = "dashboard:view"
    # One's own Web Push subscriptions (devices); the administrator's view of failed deliveries.
    MANAGE_PUSH = "push:manage"
    VIEW_PUSH_FAILURES = "push:failures"
    # Outgoing documents: draft one for a leader to sign (with a DocumentRef: a reply to a
    # document one may view); sign or return a draft (a DraftRef: only the leader it names);
    # view a draft (its author and signer) and revise it (its author); number, seal and issue
    # signed documents (clerks).
    DRAFT_DOCUMENT = "document:draft"
    SIGN_DOCUMENT = "document:sign"
    RETURN_DRAFT = "draft:return"
    VIEW_DRAFT = "draft:view"
    REVISE_DRAFT = "draft:revise"
    ISSUE_DOCUMENT = "document:issue"
    # Choose where an issued document goes (the recipient picker: the directory, the province's
    # groups, the agency's own units): the clerks who issue.
    CHOOSE_RECIPIENTS = "recipients:choose"
    # Who signs for whom (a GrantTarget): administrators give and revoke every form; the head
    # (a HEAD grant in force) gives KT., TL. and TUQ. — never Q. or another head.
    MANAGE_SIGNING = "signing_authority:manage"
    # Mark an absence (an AbsenceRef): a signer their own, an administrator anyone's.
    MARK_ABSENCE = "absence:mark"


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
DRAFTERS = {Action.DRAFT_DOCUMENT, Action.VIEW_DRAFT, Action.REVISE_DRAFT}
SIGNERS = {Action.SIGN_DOCUMENT, Action.RETURN_DRAFT, Action.VIEW_DRAFT}
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: EVERYONE
    | {
        Action.MANAGE_USERS,
        Action.MANAGE_SERVICE_ACCOUNTS,
        Action.VIEW_PUSH_FAILURES,
        Action.VIEW_AGENCIES,
        Action.MANAGE_SIGNING,
        Action.MARK_ABSENCE,
    },
    Role.LEADER: EVERYONE
    | HANDLERS
    | SIGNERS
    | {
        Action.VIEW_REGISTER,
        Action.ASSIGN_DOCUMENT,
        Action.VIEW_DASHBOARD,
        Action.MANAGE_SIGNING,
        Action.MARK_ABSENCE,
    },
    Role.OFFICE_CHIEF: EVERYONE
    | HANDLERS
    | {
        Action.VIEW_REGISTER,
        Action.ASSIGN_DOCUMENT,
        Action.FORWARD_DOCUMENT,
        Action.VIEW_DASHBOARD,
    },
    Role.UNIT_HEAD: EVERYONE
    | HANDLERS
    | DRAFTERS
    | {Action.ASSIGN_DOCUMENT, Action.VIEW_DASHBOARD},
    Role.SPECIALIST: EVERYONE | HANDLERS | DRAFTERS,
    Role.CLERK: EVERYONE
    | {
        Action.VIEW_DOCUMENT,
        Action.REGISTER_DOCUMENT,
        Action.VIEW_REGISTER,
        Action.ISSUE_DOCUMENT,
        Action.CHOOSE_RECIPIENTS,
    },
}
# Roles that see every document of their agency.
AGENCY_WIDE = frozenset({Role.LEADER, Role.OFFICE_CHIEF, Role.CLERK})
# Roles that route registered incoming documents (phân công) for the whole agency, and so see the
# agency's dashboard.
ROUTERS = frozenset({Role.LEADER, Role.OFFICE_CHIEF})
# API scopes a service account may be given.
API_SCOPES = {
    "profile:read": ("Đọc thông tin tài khoản dịch vụ", "Read the service account's profile"),
    "documents:read": ("Đọc văn bản và sổ đăng ký", "Read documents and registers"),
    "documents:write": ("Vào sổ văn bản đến", "Register incoming documents"),
}


@dataclass(frozen=True)
class GrantRef:
    """One signing authority a person holds (a `signing_flow.tables.SigningGrant`)."""

    id: int
    form: str
    # Document type codes it covers; empty: every type.
    types: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Principal:
    """A signed-in person, as the policy sees them.

    `grants`, `on`, `absent` and `covering` are the signing side, loaded by
    `signing_flow.authority.principal` (a principal built from the user row alone has none):
    the person's grants, the Vietnam date they are judged on, whether the person is away that
    day, and whose drafts they cover as the named deputy."""

    user_id: int
    agency_id: int
    unit_id: int | None
    roles: frozenset[Role]
    grants: tuple[GrantRef, ...] = ()
    on: date | None = None
    absent: bool = False
    covering: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ServicePrincipal:
    """A service account presenting a bearer token."""

    service_account_id: int
    agency_id: int
    scopes: frozenset[str]
    jti: str


class Person(Protocol):
    """What `principal_of` reads from a stored user."""

    @property
    def id(self) -> int: ...
    @property
    def agency_id(self) -> int: ...
    @property
    def unit_id(self) -> int | None: ...
    @property
    def roles(self) -> frozenset[Role]: ...


def principal_of(person: Person) -> Principal:
    return Principal(
        user_id=person.id, agency_id=person.agency_id, unit_id=person.unit_id, roles=person.roles
    )


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


@dataclass(frozen=True)
class HopRef:
    """One hop of a document's handling (an assignment): given to a person or to a unit."""

    agency_id: int  # the document's
    user_id: int | None
    unit_id: int | None


@dataclass(frozen=True)
class DraftRef:
    """An outgoing draft: who wrote it, who it names as signer, its document type and the grant
    it is to be signed under (None: a draft from before the agency had signing rules, signed by
    a leader in their own name)."""

    agency_id: int
    author_id: int
    signer_id: int
    type_code: str = ""
    grant_id: int | None = None


class SignRefusal(enum.StrEnum):
    """Why a person may not sign a draft (`sign_refusal`); the domain words each one."""

    NOT_SIGNER = "not_signer"
    ABSENT = "absent"
    NO_GRANT = "no_grant"
    REVOKED = "revoked"
    NOT_YET = "not_yet"
    EXPIRED = "expired"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class GrantTarget:
    """A signing grant to give or revoke: its agency and its form (a `SignForm` value)."""

    agency_id: int
    form: str


@dataclass(frozen=True)
class AbsenceRef:
    """An absence to mark or end: whose it is."""

    agency_id: int
    user_id: int


# Forms the head may give; HEAD and Q. (acting) are appointments, made by administrators.
HEAD_GIVES = frozenset({"kt", "tl", "tuq"})


@dataclass(frozen=True)
class WholeAgency:
    """The person's own agency as a whole: "any of its documents", "all of its numbers"."""


WHOLE_AGENCY = WholeAgency()


def grant_in_force(grant: GrantRef, on: date | None) -> bool:
    """Not revoked and, on `on` (None: no date known, only revocation counts), inside its dates."""
    if grant.revoked:
        return False
    if on is None:
        return True
    return (grant.valid_from is None or grant.valid_from <= on) and (
        grant.valid_until is None or on <= grant.valid_until
    )


def _actions(principal: Principal) -> frozenset[Action]:
    granted: frozenset[Action] = frozenset()
    for role in principal.roles:
        granted |= ROLE_ACTIONS[role]
    # A signing authority in force opens the signer's pages to whoever holds it (the office
    # chief signing TL., a unit head TUQ.); what they may sign is the object-level rule.
    if any(grant_in_force(g, principal.on) for g in principal.grants):
        granted |= SIGNERS | {Action.MARK_ABSENCE}
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


def _on_document(principal: Principal, action: Action, document: DocumentRef) -> bool:
    if action is Action.ASSIGN_DOCUMENT:
        return bool(principal.roles & ROUTERS)
    if action is Action.FORWARD_DOCUMENT:
        return True  # the office chief, agency-wide
    return _document_in_scope(principal, document)


def holds(principal: Principal, hop: HopRef) -> bool:
    """Is this hop the person's: given to them, or to the unit they head?"""
    if hop.user_id is not None:
        return hop.user_id == principal.user_id
    unit = held_unit(principal)
    return unit is not None and unit == hop.unit_id


def held_unit(principal: Principal) -> int | None:
    """The unit whose hops this person holds (a unit head's); the SQL twin's half of `holds`."""
    return principal.unit_id if Role.UNIT_HEAD in principal.roles else None


def _on_hop(principal: Principal, action: Action, hop: HopRef) -> bool:
    if action is Action.ASSIGN_DOCUMENT:
        # A unit head hands down what was given to their unit (not what was given to them).
        return hop.user_id is None and holds(principal, hop)
    return action is Action.HANDLE_DOCUMENT and holds(principal, hop)


def sign_refusal(principal: Principal, draft: DraftRef) -> SignRefusal | None:
    """Why `principal` may not sign `draft` now, or None when they may: they are its named
    signer, not away, and the grant it names is theirs, in force on `principal.on` and covers
    its type. A draft without a grant (no signing rules yet) is a leader's own."""
    if principal.user_id != draft.signer_id:
        return SignRefusal.NOT_SIGNER
    if principal.absent:
        return SignRefusal.ABSENT
    if draft.grant_id is None:
        return None if Role.LEADER in principal.roles else SignRefusal.NO_GRANT
    grant = next((g for g in principal.grants if g.id == draft.grant_id), None)
    if grant is None:
        return SignRefusal.NO_GRANT
    if grant.revoked:
        return SignRefusal.REVOKED
    on = principal.on
    if on is not None and grant.valid_from is not None and on < grant.valid_from:
        return SignRefusal.NOT_YET
    if on is not None and grant.valid_until is not None and on > grant.valid_until:
        return SignRefusal.EXPIRED
    if grant.types and draft.type_code not in grant.types:
        return SignRefusal.OUT_OF_SCOPE
    return None


def _on_draft(principal: Principal, action: Action, draft: DraftRef) -> bool:
    me = principal.user_id
    if action is Action.SIGN_DOCUMENT:
        return sign_refusal(principal, draft) is None
    # The named deputy of an absent signer sees their drafts and may send them back.
    covers = draft.signer_id in principal.covering
    if action is Action.RETURN_DRAFT:
        return (me == draft.signer_id and not principal.absent) or covers
    if action is Action.VIEW_DRAFT:
        return me in (draft.author_id, draft.signer_id) or covers
    return action is Action.REVISE_DRAFT and me == draft.author_id


def is_head(principal: Principal) -> bool:
    return any(g.form == "head" and grant_in_force(g, principal.on) for g in principal.grants)


def _on_grant(principal: Principal, target: GrantTarget) -> bool:
    if Role.ADMIN in principal.roles:
        return True
    return target.form in HEAD_GIVES and is_head(principal)


def _on_absence(principal: Principal, absence: AbsenceRef) -> bool:
    if Role.ADMIN in principal.roles:
        return True
    return absence.user_id == principal.user_id


def _agency_wide(principal: Principal, action: Action) -> bool:
    if action in (Action.ASSIGN_DOCUMENT, Action.VIEW_DASHBOARD):
        return bool(principal.roles & ROUTERS)
    return action is Action.VIEW_DOCUMENT and bool(principal.roles & AGENCY_WIDE)


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
        return _on_document(principal, action, obj)
    if isinstance(obj, HopRef):
        return _on_hop(principal, action, obj)
    if isinstance(obj, DraftRef):
        return _on_draft(principal, action, obj)
    if isinstance(obj, GrantTarget):
        return action is Action.MANAGE_SIGNING and _on_grant(principal, obj)
    if isinstance(obj, AbsenceRef):
        return action is Action.MARK_ABSENCE and _on_absence(principal, obj)
    if isinstance(obj, WholeAgency):
        return _agency_wide(principal, action)
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
