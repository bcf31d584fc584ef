"""The permission policy on its own: role grants and agency / unit / assignment scopes."""

from __future__ import annotations

from backend.core.models import Role
from backend.identity.policy import (
    DEMO,
    PUBLIC,
    SIGNED_IN,
    Action,
    ApiScope,
    DocumentRef,
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
