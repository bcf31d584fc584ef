"""Once documents are given to people and units, the SQL scope still agrees with the policy."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from sqlalchemy import select

from backend.core.models import Role, User
from backend.documents.queries import document_scope, load_ref
from backend.documents.tables import Document
from backend.identity.policy import Action, Principal, may
from backend.workflow import assignments
from backend.workflow.assignments import Actor, Party, Plan
from tests.backend.identity.conftest import World, resources_of
from tests.backend.workflow.helpers import add_person, registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


async def test_sql_scope_agrees_with_the_policy_with_assignments(
    app: LifespanManager, world: World
) -> None:
    ids = world.user_ids
    other_unit_head = await add_person(
        app, world.agency_id, None, "truongphongkhac", Role.UNIT_HEAD
    )
    docs = [await registered(app, world.agency_id, subject=f"Văn bản {n}") for n in range(4)]
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        leader = await db.get_one(User, ids["leader"])
        plans = [
            Plan(lead=Party(user_id=ids["specialist"]), deadline=date(2026, 3, 6)),
            Plan(lead=Party(unit_id=world.unit_id), deadline=None),
            Plan(lead=Party(user_id=ids["leader"]), deadline=None,
                 cooperate=[Party(unit_id=world.unit_id)]),
        ]  # fmt: skip
        for doc_id, plan in zip(docs, plans, strict=False):
            document = await db.get_one(Document, doc_id)
            await assignments.assign(
                db, clock=res.clock, actor=Actor(leader), document=document, plan=plan
            )
    people = [ids["specialist"], ids["unit_head"], other_unit_head, ids["leader"], 999]
    principals = [
        Principal(uid, world.agency_id, unit, frozenset(roles))
        for uid, unit, roles in itertools.product(
            people,
            (None, world.unit_id),
            ({Role.SPECIALIST}, {Role.UNIT_HEAD}, {Role.LEADER}, {Role.OFFICE_CHIEF}, {Role.ADMIN}),
        )
    ]
    async with res.sessions() as db:
        everything = list(await db.scalars(select(Document)))
        refs = {d.id: await load_ref(db, d) for d in everything}
        for principal in principals:
            visible = set(await db.scalars(select(Document.id).where(document_scope(principal))))
            allowed = {i for i, r in refs.items() if may(principal, Action.VIEW_DOCUMENT, r)}
            assert visible == allowed, principal
        specialist = Principal(
            ids["specialist"], world.agency_id, world.unit_id, frozenset({Role.SPECIALIST})
        )
        assert set(await db.scalars(select(Document.id).where(document_scope(specialist)))) == {
            docs[0]
        }
