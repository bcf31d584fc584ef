"""Every route × every role (and anonymous): the status each one gets.

The table must name every route the app has; a new route without a row fails this test, just as
a route without an access declaration fails `tests/backend/web/test_routes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from starlette.routing import Route

from backend import organisations
from backend.core.errors import NotFoundError
from backend.core.models import Agency, Role, User
from backend.core.settings import Settings
from backend.documents.catalogue import Status
from backend.documents.forms import parse_incoming
from backend.documents.intake import Limits, Registrar, Upload, register_incoming
from backend.documents.tables import Document
from backend.identity import tokens
from backend.signing_flow import transactions
from backend.web import routes
from backend.workflow.tables import Assignment
from signing import make_sample_pdf
from tests.backend.identity.conftest import ROLES, World, invite, resources_of, sign_in_as
from tests.backend.workflow.helpers import add_person, registered
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio

ANON = "anonymous"
EVERYONE = (ANON, *ROLES)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expect: dict[str, int]
    json: dict[str, object] | None = None
    form: dict[str, str] | None = None


def same(status: int, *, anonymous: int | None = None) -> dict[str, int]:
    table = dict.fromkeys(ROLES, status)
    table[ANON] = status if anonymous is None else anonymous
    return table


def admin_only(status: int, *, anonymous: int) -> dict[str, int]:
    table = dict.fromkeys(ROLES, 403)
    table["admin"] = status
    table[ANON] = anonymous
    return table


SIGNED_IN_GET = same(200, anonymous=303)


def only(roles: set[str], status: int, *, anonymous: int) -> dict[str, int]:
    table = {role: (status if role in roles else 403) for role in ROLES}
    table[ANON] = anonymous
    return table


def readers(status: int) -> dict[str, int]:
    return only(
        {"leader", "office_chief", "unit_head", "specialist", "clerk"}, status, anonymous=303
    )


def in_scope() -> dict[str, int]:
    table = only({"leader", "office_chief", "clerk"}, 200, anonymous=303)
    table.update(unit_head=404, specialist=404)
    return table


# Unsafe requests without a session get 401 (+ HX-Redirect/Location to the sign-in page).
SIGNED_IN_POST = 401


def handlers(status: int) -> dict[str, int]:
    return only(
        {"leader", "office_chief", "unit_head", "specialist"}, status, anonymous=SIGNED_IN_POST
    )


# Routing: leaders and the office chief for the agency, unit heads within their unit.
ROUTING = {"leader", "office_chief", "unit_head"}


def table(ids: dict[str, int]) -> dict[str, Case]:
    u, inv, sa, tok = ids["user"], ids["invitation"], ids["service_account"], ids["token"]
    doc, ver, sha = ids["document"], ids["version"], f"{ids['sha']:064x}"
    return {
        "home": Case("GET", "/", same(200)),
        "offline": Case("GET", "/offline", same(200)),
        "manifest": Case("GET", "/manifest.webmanifest", same(200)),
        "service_worker": Case("GET", "/sw.js", same(200)),
        "static": Case("GET", "/static/app.js", same(200)),
        "switch_language": Case("GET", "/lang/vi", same(303)),
        "healthz": Case("GET", "/healthz", same(200)),
        "offline_manifest": Case("GET", "/offline/manifest", SIGNED_IN_GET),
        "signin": Case("GET", "/signin", same(303, anonymous=200)),
        "signin_options": Case("POST", "/signin/options", same(200)),
        "signin_verify": Case("POST", "/signin", same(400), json={}),
        "signout": Case("POST", "/signout", same(303, anonymous=SIGNED_IN_POST)),
        "signout_everywhere": Case(
            "POST", "/signout/everywhere", same(303, anonymous=SIGNED_IN_POST)
        ),
        "enrol": Case("GET", "/enrol/not-a-token", same(404)),
        "enrol_options": Case("POST", "/enrol/not-a-token/options", same(404)),
        "enrol_verify": Case("POST", "/enrol/not-a-token", same(404), json={}),
        "account_passkeys": Case("GET", "/account/passkeys", SIGNED_IN_GET),
        "passkey_options": Case(
            "POST", "/account/passkeys/options", same(200, anonymous=SIGNED_IN_POST)
        ),
        "passkey_add": Case(
            "POST", "/account/passkeys", same(400, anonymous=SIGNED_IN_POST), json={}
        ),
        "passkey_rename": Case(
            "POST",
            "/account/passkeys/999/rename",
            same(404, anonymous=SIGNED_IN_POST),
            form={"name": "x"},
        ),
        "passkey_revoke": Case(
            "POST", "/account/passkeys/999/revoke", same(404, anonymous=SIGNED_IN_POST)
        ),
        "account_sessions": Case("GET", "/account/sessions", SIGNED_IN_GET),
        "session_end": Case(
            "POST", "/account/sessions/" + "0" * 64 + "/end", same(404, anonymous=SIGNED_IN_POST)
        ),
        "admin_users": Case("GET", "/admin/users", admin_only(200, anonymous=303)),
        "admin_user_create": Case(
            "POST",
            "/admin/users",
            admin_only(422, anonymous=SIGNED_IN_POST),
            form={"username": "", "full_name": ""},
        ),
        "admin_user_invite": Case(
            "POST", f"/admin/users/{u}/invitations", admin_only(200, anonymous=SIGNED_IN_POST)
        ),
        "admin_invitation_revoke": Case(
            "POST", f"/admin/invitations/{inv}/revoke", admin_only(303, anonymous=SIGNED_IN_POST)
        ),
        "admin_user_sessions_end": Case(
            "POST", f"/admin/users/{u}/sessions/end", admin_only(303, anonymous=SIGNED_IN_POST)
        ),
        "admin_agencies": Case("GET", "/admin/agencies", admin_only(200, anonymous=303)),
        "admin_service_accounts": Case(
            "GET", "/admin/service-accounts", admin_only(200, anonymous=303)
        ),
        "admin_service_account_create": Case(
            "POST",
            "/admin/service-accounts",
            admin_only(422, anonymous=SIGNED_IN_POST),
            form={"name": ""},
        ),
        "admin_token_issue": Case(
            "POST",
            f"/admin/service-accounts/{sa}/tokens",
            admin_only(200, anonymous=SIGNED_IN_POST),
            form={"scopes": "profile:read"},
        ),
        "admin_token_revoke": Case(
            "POST", f"/admin/tokens/{tok}/revoke", admin_only(303, anonymous=SIGNED_IN_POST)
        ),
        # Documents: readers (everyone but the pure administrator), the clerk's desk, registers.
        "documents": Case("GET", "/documents", readers(200)),
        "documents_search": Case("GET", "/documents/search?q=ke+hoach", readers(200)),
        "document_new": Case("GET", "/documents/new", only({"clerk"}, 200, anonymous=303)),
        "document_create": Case(
            "POST", "/documents", only({"clerk"}, 422, anonymous=SIGNED_IN_POST), form={}
        ),
        "document_duplicate": Case(
            "GET", "/documents/duplicate", only({"clerk"}, 200, anonymous=303)
        ),
        # The document has no unit: in scope for the leader and the clerk, "not found" for a unit
        # head or specialist it was not given to (never confirming it exists).
        "document": Case("GET", f"/documents/{doc}", in_scope()),
        "document_page": Case("GET", f"/documents/{doc}/pages/{sha}/1.webp?w=640", in_scope()),
        "document_download": Case("GET", f"/documents/{doc}/files/{ver}", in_scope()),
        # Comments and replies: whoever may view the document (same scope as the reader).
        "document_comments": Case("GET", f"/documents/{doc}/comments", in_scope()),
        "document_comment_add": Case(
            "POST",
            f"/documents/{doc}/comments",
            {**in_scope(), "leader": 303, "office_chief": 303, "clerk": 303, ANON: SIGNED_IN_POST},
            form={"body": "Đề nghị bổ sung số liệu."},
        ),
        "document_replies": Case("GET", f"/documents/{doc}/replies", in_scope()),
        "register_pdf": Case(
            "GET",
            "/registers/incoming.pdf",
            only({"leader", "office_chief", "clerk"}, 200, anonymous=303),
        ),
        # Outgoing drafts and the leader's signing flow (no such document or transaction here:
        # leaders get 404 and never a hint; the matrix app has no PKI, so preparing is refused).
        "draft_new": Case(
            "GET", "/drafts/new", only({"specialist", "unit_head"}, 200, anonymous=303)
        ),
        "draft_create": Case(
            "POST",
            "/drafts",
            only({"specialist", "unit_head"}, 422, anonymous=SIGNED_IN_POST),
            form={},
        ),
        "me": Case("GET", "/me", SIGNED_IN_GET),
        "sign_count": Case("GET", "/sign/count", only({"leader"}, 200, anonymous=303)),
        "draft_signers": Case(
            "GET",
            "/drafts/new/signers?type_code=CV",
            only({"specialist", "unit_head"}, 200, anonymous=303),
        ),
        # Who signs for whom: administrators and leaders open the authority page (object level:
        # administrators give every form, the head KT./TL./TUQ.); signers mark their absences.
        "signing_grants": Case(
            "GET", "/signing-authority", only({"admin", "leader"}, 200, anonymous=303)
        ),
        "signing_grant_give": Case(
            "POST",
            "/signing-authority",
            only({"admin", "leader"}, 422, anonymous=SIGNED_IN_POST),
            form={"user_id": "", "form": "kt"},
        ),
        "signing_grant_revoke": Case(
            "POST",
            "/signing-authority/999999/revoke",
            only({"admin", "leader"}, 404, anonymous=SIGNED_IN_POST),
            form={"reason": "thử"},
        ),
        "absences": Case("GET", "/absences", only({"admin", "leader"}, 200, anonymous=303)),
        "absence_mark": Case(
            "POST",
            "/absences",
            only({"admin", "leader"}, 422, anonymous=SIGNED_IN_POST),
            form={"starts_on": "x"},
        ),
        "absence_end": Case(
            "POST",
            "/absences/999999/end",
            only({"admin", "leader"}, 404, anonymous=SIGNED_IN_POST),
        ),
        "drafts_mine": Case(
            "GET", "/drafts", only({"specialist", "unit_head"}, 200, anonymous=303)
        ),
        "draft_view": Case(
            "GET", "/drafts/999999", only({"specialist", "unit_head"}, 404, anonymous=303)
        ),
        "draft_resubmit": Case(
            "POST",
            "/drafts/999999/resubmit",
            only({"specialist", "unit_head"}, 404, anonymous=SIGNED_IN_POST),
            form={"note": "x"},
        ),
        "draft_file": Case(
            "GET", "/drafts/999999/files/1", only({"specialist", "unit_head"}, 404, anonymous=303)
        ),
        "sign_queue": Case("GET", "/sign", only({"leader"}, 200, anonymous=303)),
        "sign_document": Case("GET", "/sign/999999", only({"leader"}, 404, anonymous=303)),
        "sign_return": Case(
            "POST",
            "/sign/999999/return",
            only({"leader"}, 404, anonymous=SIGNED_IN_POST),
            form={"comment": "x"},
        ),
        "sign_prepare": Case(
            "POST",
            "/sign/transactions",
            only({"leader"}, 400, anonymous=SIGNED_IN_POST),
            form={"document_id": "999999"},
        ),
        "sign_status": Case("GET", "/sign/transactions/nope", only({"leader"}, 404, anonymous=303)),
        "sign_passkey_options": Case(
            "POST",
            "/sign/transactions/nope/passkey-options",
            only({"leader"}, 404, anonymous=SIGNED_IN_POST),
        ),
        "sign_passkey_confirm": Case(
            "POST",
            "/sign/transactions/nope/passkey",
            only({"leader"}, 404, anonymous=SIGNED_IN_POST),
            json={},
        ),
        "sign_cancel": Case(
            "POST",
            "/sign/transactions/nope/cancel",
            only({"leader"}, 404, anonymous=SIGNED_IN_POST),
        ),
        "sign_sim_batch": Case(
            "GET", "/sign/sim-batches/nope", only({"leader"}, 404, anonymous=303)
        ),
        "sign_sim_batch_cancel": Case(
            "POST",
            "/sign/sim-batches/nope/cancel",
            only({"leader"}, 404, anonymous=SIGNED_IN_POST),
        ),
        "sign_sim": Case(
            "POST",
            "/sign/sim",
            only({"leader"}, 400, anonymous=SIGNED_IN_POST),
            form={"document_id": "999999"},
        ),
        "issue_queue": Case("GET", "/issue", only({"clerk"}, 200, anonymous=303)),
        "issue_document": Case(
            "POST", "/issue/999999", only({"clerk"}, 400, anonymous=SIGNED_IN_POST)
        ),
        # The recipient picker: the clerks who issue.
        # The national axis: the clerk's inbox of received packets; the sent documents'
        # tracking for those who see the registers, resend and recall for the clerk.
        "exchange_inbox": Case("GET", "/axis/inbox", only({"clerk"}, 200, anonymous=303)),
        "exchange_received": Case("GET", "/axis/inbox/999999", only({"clerk"}, 404, anonymous=303)),
        "exchange_received_file": Case(
            "GET", "/axis/inbox/999999/files/0", only({"clerk"}, 404, anonymous=303)
        ),
        "exchange_received_register": Case(
            "POST", "/axis/inbox/999999/register", only({"clerk"}, 404, anonymous=SIGNED_IN_POST)
        ),
        "exchange_received_refuse": Case(
            "POST", "/axis/inbox/999999/return", only({"clerk"}, 404, anonymous=SIGNED_IN_POST)
        ),
        "exchange_received_recall": Case(
            "POST", "/axis/inbox/999999/recall", only({"clerk"}, 404, anonymous=SIGNED_IN_POST)
        ),
        "exchange_received_update": Case(
            "POST", "/axis/inbox/999999/update", only({"clerk"}, 404, anonymous=SIGNED_IN_POST)
        ),
        "exchange_sent": Case(
            "GET", "/axis/sent", only({"leader", "office_chief", "clerk"}, 200, anonymous=303)
        ),
        "exchange_tracking": Case(
            "GET",
            f"/documents/{doc}/axis",
            only({"leader", "office_chief", "clerk"}, 200, anonymous=303),
        ),
        "exchange_resend": Case(
            "POST", f"/documents/{doc}/axis/resend", only({"clerk"}, 404, anonymous=SIGNED_IN_POST)
        ),
        "exchange_recall": Case(
            "POST", f"/documents/{doc}/axis/recall", only({"clerk"}, 422, anonymous=SIGNED_IN_POST)
        ),
        "exchange_update": Case(
            "POST", f"/documents/{doc}/axis/update", only({"clerk"}, 422, anonymous=SIGNED_IN_POST)
        ),
        "recipient_search": Case(
            "GET", "/recipients?q=tai+chinh", only({"clerk"}, 200, anonymous=303)
        ),
        # Only an EventSource (Accept: text/event-stream) gets the endless stream.
        "live": Case("GET", "/live", same(406, anonymous=303)),
        # Handling: leaders route (a unit head's hand-down shares the action); everyone who works
        # on documents reports on hops given to them. Assignment 999 does not exist.
        "document_assign": Case(
            "POST",
            f"/documents/{doc}/assign",
            only(ROUTING, 422, anonymous=SIGNED_IN_POST),
            form={},
        ),
        "document_forward": Case(
            "POST",
            f"/documents/{doc}/forward",
            only(ROUTING, 422, anonymous=SIGNED_IN_POST),
            form={},
        ),
        "awaiting_direction": Case("GET", "/direction", only(ROUTING, 200, anonymous=303)),
        "assignment_reassign": Case(
            "POST",
            "/assignments/999/reassign",
            only(ROUTING, 404, anonymous=SIGNED_IN_POST),
            form={"lead": "u:1"},
        ),
        "assignment_milestones": Case(
            "POST", "/assignments/999/milestones", handlers(404), form={"steps": "x"}
        ),
        "progress_file": Case("GET", "/progress-files/999", readers(404)),
        "assignment_progress": Case(
            "POST", "/assignments/999/progress", handlers(404), form={"note": "x"}
        ),
        "assignment_complete": Case(
            "POST", "/assignments/999/complete", handlers(404), form={"result": "x"}
        ),
        "assignment_return": Case(
            "POST", "/assignments/999/return", handlers(404), form={"reason": "xyz"}
        ),
        "work_count": Case("GET", "/work/count", readers(200) | {"clerk": 403}),
        "dashboard": Case("GET", "/dashboard", only(ROUTING, 200, anonymous=303)),
        "dashboard_list": Case(
            "GET",
            "/dashboard/list?metric=status&key=03",
            only(ROUTING, 200, anonymous=303),
        ),
        "dashboard_csv": Case("GET", "/dashboard.csv", only(ROUTING, 200, anonymous=303)),
        # Web Push: one's own devices; failed deliveries for the administrator.
        "push_subscribe": Case(
            "POST", "/push/subscribe", same(422, anonymous=SIGNED_IN_POST), json={}
        ),
        "push_unsubscribe": Case(
            "POST", "/push/unsubscribe", same(404, anonymous=SIGNED_IN_POST), json={}
        ),
        "account_notifications": Case("GET", "/account/notifications", SIGNED_IN_GET),
        "push_test": Case(
            "POST", "/account/notifications/test", same(303, anonymous=SIGNED_IN_POST)
        ),
        "push_device_remove": Case(
            "POST", "/account/notifications/999/remove", same(404, anonymous=SIGNED_IN_POST)
        ),
        "admin_push": Case("GET", "/admin/push", admin_only(200, anonymous=303)),
        "admin_push_retry": Case(
            "POST", "/admin/push/999/retry", admin_only(404, anonymous=SIGNED_IN_POST)
        ),
        # A session is not an API credential.
        "api_me": Case("GET", "/api/v1/me", same(401)),
        "api_openapi": Case("GET", "/api/v1/openapi.json", same(200)),
        "api_documents": Case("GET", "/api/v1/documents", same(401)),
        "api_document_create": Case("POST", "/api/v1/documents", same(401), form={}),
        "api_document": Case("GET", f"/api/v1/documents/{doc}", same(401)),
        "api_document_version": Case("GET", f"/api/v1/documents/{doc}/versions/{ver}", same(401)),
        "api_register": Case("GET", "/api/v1/registers/incoming", same(401)),
    }


async def fixtures_for_routes(app: LifespanManager, world: World) -> dict[str, int]:
    res = resources_of(app)
    await invite(app, world.user_ids["specialist"])
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, world.agency_id)
        account = await tokens.create_service_account(
            db, clock=res.clock, agency=agency, name="LGSP", actor_id=world.user_ids["admin"]
        )
        issued = await tokens.issue(
            db,
            clock=res.clock,
            keyring=res.api_keys,
            issuer=res.settings.origin,
            account=account,
            scopes=["profile:read"],
            days=30,
            actor_id=world.user_ids["admin"],
        )
    async with res.sessions() as db, db.begin():
        clerk = await db.get_one(User, world.user_ids["clerk"])
        form = parse_incoming(
            {
                "type_code": "KH",
                "subject": "Kế hoạch kiểm tra công vụ năm 2026",
                "issuer_name": "Sở Nội vụ",
                "number_symbol": "12/KH-SNV",
            },
            today=res.clock.now().date(),
        )
        document = await register_incoming(
            db,
            clock=res.clock,
            blobs=res.blobs,
            workers=res.pdf_workers,
            registrar=Registrar.clerk(clerk),
            form=form,
            pdfs=[Upload("kh.pdf", "application/pdf", make_sample_pdf(pages=1))],
            scans=[],
            limits=Limits(max_bytes=10 * 1024 * 1024),
        )
        version = document.files[0].current
    return {
        "document": document.id,
        "version": version.id,
        "sha": int(version.sha256, 16),
        "user": world.user_ids["specialist"],
        "invitation": 1,
        "service_account": account.id,
        "token": issued.record.id,
    }


def test_the_table_covers_every_route() -> None:
    names = {r.name for r in routes.build(Settings()) if isinstance(r, Route)}
    dummy = dict.fromkeys(
        ["user", "invitation", "service_account", "token", "document", "version", "sha"], 1
    )
    assert set(table(dummy)) == names


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.mark.parametrize("role", EVERYONE)
async def test_every_route_answers_each_role_as_the_policy_says(
    app: LifespanManager, client: httpx.AsyncClient, world: World, role: str
) -> None:
    ids = await fixtures_for_routes(app, world)
    failures: list[str] = []
    for name, case in table(ids).items():
        client.cookies.clear()
        if role != ANON:
            await sign_in_as(app, client, world.user_ids[role])
        response = await client.request(
            case.method,
            case.path,
            json=case.json,
            data=case.form,
            headers={"Accept": "text/html"},
        )
        if response.status_code != case.expect[role]:
            failures.append(f"{name} {case.method} {case.path}: {response.status_code}")
    assert failures == [], f"{role}: {failures}"


async def test_admins_cannot_reach_people_of_another_agency(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_as(app, client, world.user_ids["other_admin"])
    leader = world.user_ids["leader"]
    assert (await client.post(f"/admin/users/{leader}/invitations")).status_code == 404
    assert (await client.post(f"/admin/users/{leader}/sessions/end")).status_code == 404
    page = await client.get("/admin/users")
    assert "Người leader" not in page.text


# Object-level cases: the route lets the role in, the object's own rules (policy.may) answer.


async def add_unit(app: LifespanManager, world: World, name: str) -> int:
    res = resources_of(app)
    async with res.sessions() as db, db.begin():
        agency = await db.get_one(Agency, world.agency_id)
        unit = await organisations.create_unit(
            db, clock=res.clock, agency=agency, name=name, short_name=name[:3]
        )
        return unit.id


async def as_user(app: LifespanManager, client: httpx.AsyncClient, user_id: int) -> None:
    client.cookies.clear()
    await sign_in_as(app, client, user_id)


def html(response: httpx.Response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


async def test_unit_heads_neither_route_nor_reach_another_units_document(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    finance = await add_unit(app, world, "Phòng Tài chính")
    finance_head = await add_person(app, world.agency_id, finance, "truongtc", Role.UNIT_HEAD)
    await add_person(app, world.agency_id, finance, "chuyenvientc", Role.SPECIALIST)
    doc = await registered(app, world.agency_id)
    deadline = (resources_of(app).clock.now() + timedelta(days=10)).date().isoformat()
    plan = {"lead": f"d:{finance}", "deadline": deadline, "direction": "Phòng TC chủ trì."}
    await as_user(app, client, ids["leader"])
    assert (await client.post(f"/documents/{doc}/assign", data=plan)).status_code == 303
    async with resources_of(app).sessions() as db:
        hop = await db.scalar(select(Assignment.id).where(Assignment.document_id == doc))
    hand_down = {"lead": f"u:{ids['specialist']}", "deadline": deadline}

    # The other unit's head: the document does not exist for them, whatever they try.
    await as_user(app, client, ids["unit_head"])
    assert (await client.get(f"/documents/{doc}")).status_code == 404
    assert (await client.post(f"/documents/{doc}/assign", data=plan)).status_code == 404
    assert (await client.post(f"/assignments/{hop}/reassign", data=hand_down)).status_code == 404

    # Its own unit's head sees it and may hand the unit's hop down, but routes nothing.
    await as_user(app, client, finance_head)
    page = html(await client.get(f"/documents/{doc}"))
    assert page.select_one(f"form[action='/assignments/{hop}/reassign']") is not None
    assert page.select_one("#assign-form") is None
    assert (await client.post(f"/documents/{doc}/assign", data=plan)).status_code == 403
    # …and only to people of that unit (the specialist is in another one).
    assert (await client.post(f"/assignments/{hop}/reassign", data=hand_down)).status_code == 422


async def test_only_the_leader_a_draft_names_may_sign_or_return_it(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    other_leader = await add_person(app, world.agency_id, None, "lanhdaob", Role.LEADER)
    colleague = await add_person(
        app, world.agency_id, world.unit_id, "chuyenvienb", Role.SPECIALIST
    )
    await as_user(app, client, ids["specialist"])
    response = await client.post(
        "/drafts",
        data={
            "type_code": "KH",
            "subject": "Kế hoạch phòng chống lụt bão 2026",
            "urgency": "0",
            "signer_id": str(ids["leader"]),
        },
        files={"pdf": ("du-thao.pdf", make_sample_pdf(pages=1), "application/pdf")},
    )
    assert response.status_code == 303, response.text
    doc = int(response.headers["location"].split("sent=")[1])
    give_back = {"comment": "Đề nghị sửa lại."}

    # Another leader of the same agency: not in their queue, not theirs to sign or return.
    await as_user(app, client, other_leader)
    assert (await client.get(f"/sign/{doc}")).status_code == 404
    assert (await client.post(f"/sign/{doc}/return", data=give_back)).status_code == 404
    res = resources_of(app)
    async with res.sessions() as db:
        with pytest.raises(NotFoundError):
            await transactions.signable(
                db, await db.get_one(User, other_leader), [doc], clock=res.clock
            )
        leader = await db.get_one(User, ids["leader"])
        assert await transactions.signable(db, leader, [doc], clock=res.clock)

    # Its author may follow it and comment; a colleague of the same unit may not.
    await as_user(app, client, ids["specialist"])
    assert (await client.get(f"/sign/{doc}")).status_code == 403
    assert (await client.post(f"/sign/{doc}/return", data=give_back)).status_code == 403
    assert (await client.get(f"/drafts/{doc}")).status_code == 200
    assert (await client.get(f"/documents/{doc}/comments")).status_code == 200
    await as_user(app, client, colleague)
    assert (await client.get(f"/drafts/{doc}")).status_code == 404
    assert (await client.get(f"/documents/{doc}/comments")).status_code == 404

    # The leader it names signs (the reader opens) or returns it.
    await as_user(app, client, ids["leader"])
    assert (await client.get(f"/sign/{doc}")).status_code == 200
    assert (await client.post(f"/sign/{doc}/return", data=give_back)).status_code == 303
    async with res.sessions() as db:
        assert (await db.get_one(Document, doc)).status == Status.RETURNED


# The tab bar (at most five destinations; "Tôi" last) and what "Tôi" adds: work pages the tabs
# have no room for, administration, the account.
TABS = {
    "leader": ["/", "/sign", "/documents", "/dashboard", "/me"],
    "office_chief": ["/", "/documents?inbox=viec-cua-toi", "/documents", "/dashboard", "/me"],
    "unit_head": ["/", "/documents?inbox=viec-cua-toi", "/documents", "/dashboard", "/me"],
    "specialist": ["/", "/documents?inbox=viec-cua-toi", "/documents", "/drafts", "/me"],
    "clerk": ["/", "/documents", "/issue", "/axis/inbox", "/me"],
    "admin": ["/", "/admin/users", "/me"],
}
ME = {
    "leader": {
        "/documents?inbox=viec-cua-toi",
        "/direction",
        "/axis/sent",
        "/signing-authority",
        "/absences",
    },
    "office_chief": {"/direction", "/axis/sent"},
    "unit_head": {"/drafts/new", "/drafts"},
    "specialist": {"/drafts/new"},
    "clerk": {"/axis/sent"},
    "admin": {
        "/signing-authority",
        "/absences",
        "/admin/service-accounts",
        "/admin/agencies",
        "/admin/push",
    },
}
ACCOUNT = {"/account/passkeys", "/account/sessions", "/account/notifications"}


@pytest.mark.parametrize("role", ROLES)
async def test_the_navigation_offers_what_the_policy_allows(
    app: LifespanManager, client: httpx.AsyncClient, world: World, role: str
) -> None:
    await as_user(app, client, world.user_ids[role])
    page = html(await client.get("/"))
    assert [a["href"] for a in page.select("nav.tabbar a.tab")] == TABS[role]
    me = html(await client.get("/me"))
    links = {a["href"] for a in me.select("nav.menu a[href]") if "/lang/" not in a["href"]}
    assert links == ME[role] | ACCOUNT
    assert me.select_one("form[action='/signout'] button") is not None
    # Every signed-in page keeps its live stream (badges, lists, today's work).
    assert page.select_one("#live") is not None
