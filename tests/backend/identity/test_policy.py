"""The permission policy on its own: role grants and agency / unit / assignment scopes."""

from __future__ import annotations

from backend.core.models import Role
from backend.identity.policy import (
    DEMO,
    PUBLIC,
    SIGNED_IN,
    WHOLE_AGENCY,
    Action,
    ApiScope,
    DocumentRef,
    DraftRef,
    HopRef,
    Principal,
    ServicePrincipal,
    allows_api,
    allows_route,
    may,
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
