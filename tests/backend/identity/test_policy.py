"""The permission policy on its own: role grants and agency / unit / assignment scopes."""

from __future__ import annotations

from datetime import date

from backend.core.models import Role
from backend.identity.policy import (
    DEMO,
    HEAD_GIVES,
    PUBLIC,
    SIGNED_IN,
    WHOLE_AGENCY,
    AbsenceRef,
    Action,
    ApiScope,
    DocumentRef,
    DraftRef,
    GrantRef,
    GrantTarget,
    HopRef,
    Principal,
    ServicePrincipal,
    SignRefusal,
    allows_api,
    allows_route,
    may,
    sign_refusal,
)


def person(
    *roles: Role, user_id: int = 1, agency_id: int = 10, unit_id: int | None = 5
) -> Principal:
    return Principal(user_id=user_id, agency_id=agency_id, unit_id=unit_id, roles=frozenset(roles))


def test_documents_are_scoped_by_role() -> None:
    in_unit = DocumentRef(agency_id=10, unit_id=5, assignee_ids=[7])
    other_unit = DocumentRef(agency_id=10, unit_id=6, assignee_ids=[1])
    unassigned = DocumentRef(agency_id=10, unit_id=6)
    other_agency = DocumentRef(agency_id=11, unit_id=5, assignee_ids=[1])
    leader, head, specialist = person(Role.LEADER), person(Role.UNIT_HEAD), person(Role.SPECIALIST)
    assert may(leader, Action.VIEW_DOCUMENT, unassigned)
    assert not may(leader, Action.VIEW_DOCUMENT, other_agency)
    assert may(head, Action.VIEW_DOCUMENT, in_unit)
    assert not may(head, Action.VIEW_DOCUMENT, unassigned)
    assert may(specialist, Action.VIEW_DOCUMENT, other_unit)  # assigned to them
    assert not may(specialist, Action.VIEW_DOCUMENT, in_unit)
    assert not may(specialist, Action.VIEW_DOCUMENT, other_agency)
    assert not may(person(Role.ADMIN), Action.VIEW_DOCUMENT, unassigned)


def test_roles_combine() -> None:
    both = person(Role.SPECIALIST, Role.ADMIN)
    assert may(both, Action.MANAGE_USERS) and may(both, Action.VIEW_DOCUMENT)
    assert not may(person(Role.LEADER), Action.MANAGE_USERS)
    assert not may(None, Action.VIEW_HOME)


def test_own_account_objects_belong_to_their_owner() -> None:
    class Thing:
        def __init__(self, user_id: int) -> None:
            self.user_id = user_id

    assert may(person(Role.CLERK), Action.MANAGE_OWN_ACCOUNT, Thing(1))
    assert not may(person(Role.ADMIN), Action.MANAGE_OWN_ACCOUNT, Thing(2))


def test_route_level_access() -> None:
    assert allows_route(PUBLIC, None) and allows_route(DEMO, None)
    assert not allows_route(SIGNED_IN, None)
    assert allows_route(SIGNED_IN, person(Role.CLERK))
    assert not allows_route(ApiScope("profile:read"), person(Role.ADMIN))
    service = ServicePrincipal(
        service_account_id=1, agency_id=10, scopes=frozenset({"profile:read"}), jti="j"
    )
    assert allows_api(ApiScope("profile:read"), service)
    assert not allows_api(ApiScope("documents:read"), service)


def test_only_the_leader_a_draft_names_signs_or_returns_it() -> None:
    draft = DraftRef(agency_id=10, author_id=3, signer_id=1)
    named, other = person(Role.LEADER, user_id=1), person(Role.LEADER, user_id=2)
    for action in (Action.SIGN_DOCUMENT, Action.RETURN_DRAFT):
        assert may(named, action, draft)
        assert not may(other, action, draft)
        # The author, a specialist, signs nothing; nor does a leader of another agency.
        assert not may(person(Role.SPECIALIST, user_id=3), action, draft)
        assert not may(person(Role.LEADER, user_id=1, agency_id=11), action, draft)
    # Signing is a leader's: named but no longer a leader, one may not.
    assert not may(person(Role.SPECIALIST, user_id=1), Action.SIGN_DOCUMENT, draft)


def test_a_draft_is_its_authors_and_its_signers() -> None:
    draft = DraftRef(agency_id=10, author_id=3, signer_id=1)
    author, signer = person(Role.SPECIALIST, user_id=3), person(Role.LEADER, user_id=1)
    colleague = person(Role.SPECIALIST, user_id=4)
    assert may(author, Action.VIEW_DRAFT, draft) and may(signer, Action.VIEW_DRAFT, draft)
    assert not may(colleague, Action.VIEW_DRAFT, draft)
    assert may(author, Action.REVISE_DRAFT, draft)
    assert not may(signer, Action.REVISE_DRAFT, draft)
    assert not may(colleague, Action.REVISE_DRAFT, draft)


def test_routers_route_the_agency_unit_heads_hand_down_their_units_hops() -> None:
    document = DocumentRef(agency_id=10, unit_id=5)
    leader, chief = person(Role.LEADER), person(Role.OFFICE_CHIEF)
    head, other_head = person(Role.UNIT_HEAD), person(Role.UNIT_HEAD, unit_id=6)
    for router in (leader, chief):
        assert may(router, Action.ASSIGN_DOCUMENT, document)
        assert may(router, Action.ASSIGN_DOCUMENT, WHOLE_AGENCY)
    assert not may(person(Role.LEADER, agency_id=11), Action.ASSIGN_DOCUMENT, document)
    # A unit head routes nothing, not even their own unit's document…
    assert not may(head, Action.ASSIGN_DOCUMENT, document)
    assert not may(head, Action.ASSIGN_DOCUMENT, WHOLE_AGENCY)
    # …but hands down what was given to their unit, and works on it.
    unit_hop = HopRef(agency_id=10, user_id=None, unit_id=5)
    assert may(head, Action.ASSIGN_DOCUMENT, unit_hop)
    assert may(head, Action.HANDLE_DOCUMENT, unit_hop)
    assert not may(other_head, Action.ASSIGN_DOCUMENT, unit_hop)
    assert not may(other_head, Action.HANDLE_DOCUMENT, unit_hop)
    assert not may(person(Role.SPECIALIST), Action.HANDLE_DOCUMENT, unit_hop)
    assert not may(leader, Action.ASSIGN_DOCUMENT, unit_hop)
    # A hop given to a person is theirs alone, and not handed down.
    own_hop = HopRef(agency_id=10, user_id=1, unit_id=None)
    assert may(head, Action.HANDLE_DOCUMENT, own_hop)
    assert not may(head, Action.ASSIGN_DOCUMENT, own_hop)
    assert not may(person(Role.SPECIALIST, user_id=2), Action.HANDLE_DOCUMENT, own_hop)
    assert not may(head, Action.HANDLE_DOCUMENT, HopRef(agency_id=11, user_id=1, unit_id=None))


def test_the_office_chief_alone_puts_documents_before_a_leader() -> None:
    document = DocumentRef(agency_id=10, unit_id=None)
    assert may(person(Role.OFFICE_CHIEF), Action.FORWARD_DOCUMENT, document)
    assert not may(person(Role.OFFICE_CHIEF, agency_id=11), Action.FORWARD_DOCUMENT, document)
    for role in (Role.LEADER, Role.UNIT_HEAD, Role.CLERK):
        assert not may(person(role), Action.FORWARD_DOCUMENT, document)


def test_dashboard_scope_and_replies() -> None:
    assert may(person(Role.LEADER), Action.VIEW_DASHBOARD, WHOLE_AGENCY)
    assert may(person(Role.OFFICE_CHIEF), Action.VIEW_DASHBOARD, WHOLE_AGENCY)
    head = person(Role.UNIT_HEAD)
    assert may(head, Action.VIEW_DASHBOARD) and not may(head, Action.VIEW_DASHBOARD, WHOLE_AGENCY)
    # A reply is drafted to a document one may view.
    given = DocumentRef(agency_id=10, unit_id=6, assignee_ids=[1])
    elsewhere = DocumentRef(agency_id=10, unit_id=6)
    specialist = person(Role.SPECIALIST)
    assert may(specialist, Action.DRAFT_DOCUMENT, given)
    assert not may(specialist, Action.DRAFT_DOCUMENT, elsewhere)
    assert not may(person(Role.LEADER), Action.DRAFT_DOCUMENT, given)


# Who signs for whom: grants (HEAD, KT., Q., TL., TUQ.) and absences.

DAY = date(2026, 12, 4)


def signer(*grants: GrantRef, user_id: int = 2, roles: tuple[Role, ...] = (Role.LEADER,),
           absent: bool = False, covering: frozenset[int] = frozenset()) -> Principal:  # fmt: skip
    return Principal(
        user_id=user_id,
        agency_id=10,
        unit_id=None,
        roles=frozenset(roles),
        grants=grants,
        on=DAY,
        absent=absent,
        covering=covering,
    )


def test_a_draft_under_a_grant_is_signed_only_while_the_grant_holds() -> None:
    kt = GrantRef(id=7, form="kt")
    draft = DraftRef(agency_id=10, author_id=3, signer_id=2, type_code="QD", grant_id=7)
    assert sign_refusal(signer(kt), draft) is None and may(signer(kt), Action.SIGN_DOCUMENT, draft)
    # Revoked, not begun, ended, another grant of the same person: each refused, each its reason.
    cases = {
        SignRefusal.REVOKED: GrantRef(id=7, form="kt", revoked=True),
        SignRefusal.NOT_YET: GrantRef(id=7, form="kt", valid_from=date(2026, 12, 5)),
        SignRefusal.EXPIRED: GrantRef(id=7, form="kt", valid_until=date(2026, 12, 3)),
        SignRefusal.NO_GRANT: GrantRef(id=8, form="kt"),
    }
    for reason, grant in cases.items():
        assert sign_refusal(signer(grant), draft) is reason
        assert not may(signer(grant), Action.SIGN_DOCUMENT, draft)
    # The last day of a grant still counts (Vietnam dates, inclusive).
    assert sign_refusal(signer(GrantRef(id=7, form="kt", valid_until=DAY)), draft) is None
    # Someone else holding a grant of that id's form is not the named signer.
    assert sign_refusal(signer(kt, user_id=9), draft) is SignRefusal.NOT_SIGNER


def test_tl_and_tuq_sign_only_their_scope_and_open_the_signers_pages() -> None:
    tl = GrantRef(id=3, form="tl", types=frozenset({"CV", "TB"}))
    chief = signer(tl, user_id=4, roles=(Role.OFFICE_CHIEF,))
    letter = DraftRef(agency_id=10, author_id=3, signer_id=4, type_code="CV", grant_id=3)
    decision = DraftRef(agency_id=10, author_id=3, signer_id=4, type_code="QD", grant_id=3)
    assert may(chief, Action.SIGN_DOCUMENT, letter)
    assert sign_refusal(chief, decision) is SignRefusal.OUT_OF_SCOPE
    # The grant in force opens "Chờ ký" to an office chief (no leader role); an expired one not.
    assert may(chief, Action.SIGN_DOCUMENT) and may(chief, Action.MARK_ABSENCE)
    lapsed = signer(
        GrantRef(id=3, form="tl", valid_until=date(2026, 1, 1)), roles=(Role.OFFICE_CHIEF,)
    )
    assert not may(lapsed, Action.SIGN_DOCUMENT)
    # Without signing rules (no grant on the draft) only a leader signs, in their own name.
    legacy = DraftRef(agency_id=10, author_id=3, signer_id=4, type_code="CV")
    assert sign_refusal(chief, legacy) is SignRefusal.NO_GRANT


def test_an_absent_signers_drafts_are_their_deputys_to_see_and_return_not_to_sign() -> None:
    head = GrantRef(id=1, form="head")
    draft = DraftRef(agency_id=10, author_id=3, signer_id=1, type_code="QD", grant_id=1)
    away = signer(head, user_id=1, absent=True)
    deputy = signer(GrantRef(id=2, form="kt"), user_id=2, covering=frozenset({1}))
    assert sign_refusal(away, draft) is SignRefusal.ABSENT
    assert not may(away, Action.RETURN_DRAFT, draft)
    assert may(deputy, Action.VIEW_DRAFT, draft) and may(deputy, Action.RETURN_DRAFT, draft)
    assert not may(deputy, Action.SIGN_DOCUMENT, draft)
    # Back: the draft is the head's again, and no longer the deputy's.
    assert may(signer(head, user_id=1), Action.SIGN_DOCUMENT, draft)
    assert not may(signer(GrantRef(id=2, form="kt"), user_id=2), Action.RETURN_DRAFT, draft)


def test_administrators_give_every_form_the_head_only_kt_tl_tuq() -> None:
    admin = person(Role.ADMIN)
    head = signer(GrantRef(id=1, form="head"), user_id=1)
    deputy = signer(GrantRef(id=2, form="kt"), user_id=2)
    for form in ("head", "kt", "q", "tl", "tuq"):
        assert may(admin, Action.MANAGE_SIGNING, GrantTarget(10, form))
        assert may(head, Action.MANAGE_SIGNING, GrantTarget(10, form)) is (form in HEAD_GIVES)
        # Nobody re-delegates: a deputy (or a TL./TUQ. holder) gives nothing.
        assert not may(deputy, Action.MANAGE_SIGNING, GrantTarget(10, form))
        assert not may(admin, Action.MANAGE_SIGNING, GrantTarget(11, form))
    # Absences: one's own; an administrator anyone's.
    assert may(deputy, Action.MARK_ABSENCE, AbsenceRef(10, 2))
    assert not may(deputy, Action.MARK_ABSENCE, AbsenceRef(10, 1))
    assert may(admin, Action.MARK_ABSENCE, AbsenceRef(10, 1))
