"""Every route of the app, named, each declaring who may use it.

`access` is what the permission policy (`backend/identity/policy.py`) checks before the handler
runs: `PUBLIC`, `SIGNED_IN`, `DEMO`, an `Action`, or an `ApiScope` for bearer-token routes.
`route()` refuses anything else, and a test walks every route for every role.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from backend.core.settings import Settings
from backend.identity import policy
from backend.identity.policy import DEMO, PUBLIC, SIGNED_IN, Access, Action, ApiScope
from backend.runtime.simulator import DemoAxis, DemoSimulator
from backend.web.views import (
    account,
    admin,
    api,
    auth,
    authority,
    comments,
    dashboard,
    documents,
    documents_api,
    drafts,
    enrol,
    exchange,
    health,
    live,
    offline,
    openapi,
    push,
    pwa,
    recipients,
    signing,
    workflow,
)
from backend.web.views.guard import guard

__all__ = ["DEMO", "PUBLIC", "SIGNED_IN", "build", "route"]

Endpoint = Callable[[Request], Awaitable[Response]]


def route(
    path: str, endpoint: Endpoint, *, name: str, access: Access, methods: list[str] | None = None
) -> Route:
    if not policy.is_known(access):
        raise ValueError(f"route {name} declares unknown access {access!r}")
    r = Route(path, guard(endpoint, access), name=name, methods=methods or ["GET"])
    r.access = access  # type: ignore[attr-defined]
    return r


POST = ["POST"]
ADMIN_USERS = Action.MANAGE_USERS
ADMIN_SERVICES = Action.MANAGE_SERVICE_ACCOUNTS
ACCOUNT = Action.MANAGE_OWN_ACCOUNT
PUSH = Action.MANAGE_PUSH


def build(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        route("/", pwa.home, name="home", access=PUBLIC),
        route("/offline", pwa.offline, name="offline", access=PUBLIC),
        route("/manifest.webmanifest", pwa.manifest, name="manifest", access=PUBLIC),
        route("/sw.js", pwa.service_worker, name="service_worker", access=PUBLIC),
        route("/static/{path:path}", pwa.static, name="static", access=PUBLIC),
        route("/lang/{lang}", pwa.switch_language, name="switch_language", access=PUBLIC),
        route("/healthz", health.healthz, name="healthz", access=PUBLIC),
        route("/offline/manifest", offline.manifest, name="offline_manifest", access=SIGNED_IN),
        # Signing in and out.
        route("/signin", auth.signin_page, name="signin", access=PUBLIC),
        route("/signin/options", auth.signin_options, name="signin_options", access=PUBLIC,
              methods=POST),
        route("/signin", auth.signin_verify, name="signin_verify", access=PUBLIC, methods=POST),
        route("/signout", auth.signout, name="signout", access=SIGNED_IN, methods=POST),
        route("/signout/everywhere", auth.signout_everywhere, name="signout_everywhere",
              access=SIGNED_IN, methods=POST),
        # Enrolment through an invitation link.
        route("/enrol/{token}", enrol.enrol_page, name="enrol", access=PUBLIC),
        route("/enrol/{token}/options", enrol.enrol_options, name="enrol_options",
              access=PUBLIC, methods=POST),
        route("/enrol/{token}", enrol.enrol_verify, name="enrol_verify", access=PUBLIC,
              methods=POST),
        # My account.
        route("/me", account.me_page, name="me", access=SIGNED_IN),
        route("/account/passkeys", account.passkeys_page, name="account_passkeys",
              access=ACCOUNT),
        route("/account/passkeys/options", account.passkey_options, name="passkey_options",
              access=ACCOUNT, methods=POST),
        route("/account/passkeys", account.passkey_add, name="passkey_add", access=ACCOUNT,
              methods=POST),
        route("/account/passkeys/{passkey_id:int}/rename", account.passkey_rename,
              name="passkey_rename", access=ACCOUNT, methods=POST),
        route("/account/passkeys/{passkey_id:int}/revoke", account.passkey_revoke,
              name="passkey_revoke", access=ACCOUNT, methods=POST),
        route("/account/sessions", account.sessions_page, name="account_sessions",
              access=ACCOUNT),
        route("/account/sessions/{ref}/end", account.session_end, name="session_end",
              access=ACCOUNT, methods=POST),
        # Administration.
        route("/admin/users", admin.users_page, name="admin_users", access=ADMIN_USERS),
        route("/admin/users", admin.user_create, name="admin_user_create", access=ADMIN_USERS,
              methods=POST),
        route("/admin/users/{user_id:int}/invitations", admin.user_invite,
              name="admin_user_invite", access=ADMIN_USERS, methods=POST),
        route("/admin/invitations/{invitation_id:int}/revoke", admin.invitation_revoke,
              name="admin_invitation_revoke", access=ADMIN_USERS, methods=POST),
        route("/admin/users/{user_id:int}/sessions/end", admin.user_sessions_end,
              name="admin_user_sessions_end", access=ADMIN_USERS, methods=POST),
        route("/admin/agencies", admin.agencies_page, name="admin_agencies",
              access=Action.VIEW_AGENCIES),
        route("/admin/service-accounts", admin.service_accounts_page,
              name="admin_service_accounts", access=ADMIN_SERVICES),
        route("/admin/service-accounts", admin.service_account_create,
              name="admin_service_account_create", access=ADMIN_SERVICES, methods=POST),
        route("/admin/service-accounts/{account_id:int}/tokens", admin.token_issue,
              name="admin_token_issue", access=ADMIN_SERVICES, methods=POST),
        route("/admin/tokens/{token_id:int}/revoke", admin.token_revoke,
              name="admin_token_revoke", access=ADMIN_SERVICES, methods=POST),
        # Documents.
        route("/documents", documents.documents_page, name="documents",
              access=Action.VIEW_DOCUMENT),
        route("/documents/search", documents.documents_search, name="documents_search",
              access=Action.VIEW_DOCUMENT),
        route("/documents/new", documents.document_new, name="document_new",
              access=Action.REGISTER_DOCUMENT),
        route("/documents", documents.document_create, name="document_create",
              access=Action.REGISTER_DOCUMENT, methods=POST),
        route("/documents/duplicate", documents.duplicate_check, name="document_duplicate",
              access=Action.REGISTER_DOCUMENT),
        route("/documents/{document_id:int}", documents.document_view, name="document",
              access=Action.VIEW_DOCUMENT),
        route("/documents/{document_id:int}/pages/{sha}/{page:int}.webp",
              documents.document_page_image, name="document_page", access=Action.VIEW_DOCUMENT),
        route("/documents/{document_id:int}/files/{version_id:int}", documents.document_download,
              name="document_download", access=Action.VIEW_DOCUMENT),
        route("/registers/{direction}.pdf", documents.register_pdf, name="register_pdf",
              access=Action.VIEW_REGISTER),
        route("/documents/{document_id:int}/comments", comments.comments_panel,
              name="document_comments", access=Action.VIEW_DOCUMENT),
        route("/documents/{document_id:int}/comments", comments.comment_add,
              name="document_comment_add", access=Action.VIEW_DOCUMENT, methods=POST),
        route("/documents/{document_id:int}/replies", comments.replies_panel,
              name="document_replies", access=Action.VIEW_DOCUMENT),
        # Outgoing drafts, the leader's signing flow, live updates.
        route("/drafts/new", signing.draft_new, name="draft_new", access=Action.DRAFT_DOCUMENT),
        route("/drafts/new/signers", signing.draft_signers, name="draft_signers",
              access=Action.DRAFT_DOCUMENT),
        route("/drafts", signing.draft_create, name="draft_create",
              access=Action.DRAFT_DOCUMENT, methods=POST),
        route("/drafts", drafts.my_drafts, name="drafts_mine", access=Action.DRAFT_DOCUMENT),
        route("/drafts/{document_id:int}", drafts.draft_view, name="draft_view",
              access=Action.DRAFT_DOCUMENT),
        route("/drafts/{document_id:int}/resubmit", drafts.resubmit, name="draft_resubmit",
              access=Action.DRAFT_DOCUMENT, methods=POST),
        route("/drafts/{document_id:int}/files/{version_id:int}", drafts.draft_file,
              name="draft_file", access=Action.DRAFT_DOCUMENT),
        # Who signs for whom: signing authorities and absences.
        route("/signing-authority", authority.grants_page, name="signing_grants",
              access=Action.MANAGE_SIGNING),
        route("/signing-authority", authority.grant_give, name="signing_grant_give",
              access=Action.MANAGE_SIGNING, methods=POST),
        route("/signing-authority/{grant_id:int}/revoke", authority.grant_revoke,
              name="signing_grant_revoke", access=Action.MANAGE_SIGNING, methods=POST),
        route("/absences", authority.absences_page, name="absences", access=Action.MARK_ABSENCE),
        route("/absences", authority.absence_mark, name="absence_mark",
              access=Action.MARK_ABSENCE, methods=POST),
        route("/absences/{absence_id:int}/end", authority.absence_end, name="absence_end",
              access=Action.MARK_ABSENCE, methods=POST),
        route("/sign", signing.queue_page, name="sign_queue", access=Action.SIGN_DOCUMENT),
        route("/sign/count", signing.queue_count, name="sign_count",
              access=Action.SIGN_DOCUMENT),
        route("/sign/{document_id:int}", signing.sign_view, name="sign_document",
              access=Action.SIGN_DOCUMENT),
        route("/sign/{document_id:int}/return", signing.return_draft, name="sign_return",
              access=Action.RETURN_DRAFT, methods=POST),
        route("/sign/transactions", signing.prepare, name="sign_prepare",
              access=Action.SIGN_DOCUMENT, methods=POST),
        route("/sign/transactions/{tx_id}", signing.transaction_status, name="sign_status",
              access=Action.SIGN_DOCUMENT),
        route("/sign/transactions/{tx_id}/passkey-options", signing.passkey_options,
              name="sign_passkey_options", access=Action.SIGN_DOCUMENT, methods=POST),
        route("/sign/transactions/{tx_id}/passkey", signing.passkey_confirm,
              name="sign_passkey_confirm", access=Action.SIGN_DOCUMENT, methods=POST),
        route("/sign/transactions/{tx_id}/cancel", signing.cancel, name="sign_cancel",
              access=Action.SIGN_DOCUMENT, methods=POST),
        route("/sign/sim-batches/{batch_id}", signing.sim_batch_status, name="sign_sim_batch",
              access=Action.SIGN_DOCUMENT),
        route("/sign/sim-batches/{batch_id}/cancel", signing.sim_batch_cancel,
              name="sign_sim_batch_cancel", access=Action.SIGN_DOCUMENT, methods=POST),
        route("/sign/sim", signing.sim_start, name="sign_sim", access=Action.SIGN_DOCUMENT,
              methods=POST),
        route("/issue", signing.issue_page, name="issue_queue", access=Action.ISSUE_DOCUMENT),
        route("/issue/{document_id:int}", signing.issue_document, name="issue_document",
              access=Action.ISSUE_DOCUMENT, methods=POST),
        route("/recipients", recipients.recipient_search, name="recipient_search",
              access=Action.CHOOSE_RECIPIENTS),
        route("/live", live.live_events, name="live", access=SIGNED_IN),
        # The national document axis: received packets, sent documents' tracking.
        route("/axis/inbox", exchange.inbox_page, name="exchange_inbox",
              access=Action.REGISTER_DOCUMENT),
        route("/axis/inbox/{received_id:int}", exchange.received_view, name="exchange_received",
              access=Action.REGISTER_DOCUMENT),
        route("/axis/inbox/{received_id:int}/files/{index:int}", exchange.received_file,
              name="exchange_received_file", access=Action.REGISTER_DOCUMENT),
        route("/axis/inbox/{received_id:int}/register", exchange.received_register,
              name="exchange_received_register", access=Action.REGISTER_DOCUMENT, methods=POST),
        route("/axis/inbox/{received_id:int}/return", exchange.received_refuse,
              name="exchange_received_refuse", access=Action.REGISTER_DOCUMENT, methods=POST),
        route("/axis/inbox/{received_id:int}/recall", exchange.received_recall,
              name="exchange_received_recall", access=Action.REGISTER_DOCUMENT, methods=POST),
        route("/axis/inbox/{received_id:int}/update", exchange.received_update,
              name="exchange_received_update", access=Action.REGISTER_DOCUMENT, methods=POST),
        route("/axis/sent", exchange.sent_page, name="exchange_sent", access=Action.VIEW_REGISTER),
        route("/documents/{document_id:int}/axis", exchange.tracking_panel,
              name="exchange_tracking", access=Action.VIEW_REGISTER),
        route("/documents/{document_id:int}/axis/resend", exchange.tracking_resend,
              name="exchange_resend", access=Action.ISSUE_DOCUMENT, methods=POST),
        route("/documents/{document_id:int}/axis/recall", exchange.tracking_recall,
              name="exchange_recall", access=Action.ISSUE_DOCUMENT, methods=POST),
        route("/documents/{document_id:int}/axis/update", exchange.tracking_update,
              name="exchange_update", access=Action.ISSUE_DOCUMENT, methods=POST),
        # Handling incoming documents: route, hand down, report, complete, return.
        route("/documents/{document_id:int}/assign", workflow.assign, name="document_assign",
              access=Action.ASSIGN_DOCUMENT, methods=POST),
        route("/documents/{document_id:int}/forward", workflow.forward, name="document_forward",
              access=Action.ASSIGN_DOCUMENT, methods=POST),
        route("/direction", workflow.awaiting_direction, name="awaiting_direction",
              access=Action.ASSIGN_DOCUMENT),
        route("/assignments/{assignment_id:int}/reassign", workflow.reassign,
              name="assignment_reassign", access=Action.ASSIGN_DOCUMENT, methods=POST),
        route("/assignments/{assignment_id:int}/progress", workflow.progress,
              name="assignment_progress", access=Action.HANDLE_DOCUMENT, methods=POST),
        route("/assignments/{assignment_id:int}/milestones", workflow.milestones,
              name="assignment_milestones", access=Action.HANDLE_DOCUMENT, methods=POST),
        route("/progress-files/{file_id:int}", workflow.progress_file, name="progress_file",
              access=Action.VIEW_DOCUMENT),
        route("/assignments/{assignment_id:int}/complete", workflow.complete,
              name="assignment_complete", access=Action.HANDLE_DOCUMENT, methods=POST),
        route("/assignments/{assignment_id:int}/return", workflow.return_,
              name="assignment_return", access=Action.HANDLE_DOCUMENT, methods=POST),
        route("/work/count", workflow.work_count, name="work_count",
              access=Action.HANDLE_DOCUMENT),
        # The leader's (unit head's) dashboard.
        route("/dashboard", dashboard.dashboard_page, name="dashboard",
              access=Action.VIEW_DASHBOARD),
        route("/dashboard/list", dashboard.dashboard_list, name="dashboard_list",
              access=Action.VIEW_DASHBOARD),
        route("/dashboard.csv", dashboard.dashboard_csv, name="dashboard_csv",
              access=Action.VIEW_DASHBOARD),
        # Web Push: this device's subscription, my devices, the administrator's failures.
        route("/push/subscribe", push.subscribe, name="push_subscribe", access=PUSH,
              methods=POST),
        route("/push/unsubscribe", push.unsubscribe, name="push_unsubscribe", access=PUSH,
              methods=POST),
        route("/account/notifications", push.devices_page, name="account_notifications",
              access=PUSH),
        route("/account/notifications/test", push.send_test, name="push_test", access=PUSH,
              methods=POST),
        route("/account/notifications/{subscription_id:int}/remove", push.device_remove,
              name="push_device_remove", access=PUSH, methods=POST),
        route("/admin/push", push.failures_page, name="admin_push",
              access=Action.VIEW_PUSH_FAILURES),
        route("/admin/push/{outbox_id:int}/retry", push.failure_retry, name="admin_push_retry",
              access=Action.VIEW_PUSH_FAILURES, methods=POST),
        # JSON API for service accounts.
        route("/api/v1/me", api.me, name="api_me", access=ApiScope("profile:read")),
        route("/api/v1/openapi.json", openapi.openapi, name="api_openapi", access=PUBLIC),
        route("/api/v1/documents", documents_api.list_documents, name="api_documents",
              access=ApiScope("documents:read")),
        route("/api/v1/documents", documents_api.create_incoming, name="api_document_create",
              access=ApiScope("documents:write"), methods=POST),
        route("/api/v1/documents/{document_id:int}", documents_api.get_document,
              name="api_document", access=ApiScope("documents:read")),
        route("/api/v1/documents/{document_id:int}/versions/{version_id:int}",
              documents_api.download_version, name="api_document_version",
              access=ApiScope("documents:read")),
        route("/api/v1/registers/{direction}", documents_api.register_json, name="api_register",
              access=ApiScope("documents:read")),
    ]  # fmt: skip
    if settings.demo:
        routes.append(
            route(
                "/demo/signin/{username}",
                auth.demo_signin,
                name="demo_signin",
                access=DEMO,
                methods=POST,
            )
        )
        simulator = Mount("/mssp-sim", app=DemoSimulator(settings), name="mssp_sim")
        simulator.access = DEMO  # type: ignore[attr-defined]
        routes.append(simulator)
        if not settings.axis_url:
            axis = Mount("/axis-sim", app=DemoAxis(settings), name="axis_sim")
            axis.access = DEMO  # type: ignore[attr-defined]
            routes.append(axis)
    return routes
