"""Who signs for whom: the agency's signing authorities (administrators and the head give and
revoke them) and absences (a signer marks their own, an administrator anyone's)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from backend.core.errors import EofficeError
from backend.documents import catalogue
from backend.identity import policy
from backend.identity.policy import AbsenceRef, Action, GrantTarget
from backend.signing_flow import authority
from backend.signing_flow.tables import SignForm
from backend.web.views.auth import current_principal, current_user, transaction
from backend.web.views.render import language, render, resources


async def _grants_page(
    request: Request, *, error: str = "", values: dict[str, str] | None = None, status: int = 200
) -> Response:
    user, clock = current_user(request), resources(request).clock
    on = authority.today(clock)
    async with transaction(request) as db:
        rows = await authority.grants(db, agency_id=user.agency_id, on=on)
        people = await authority.people(db, agency_id=user.agency_id)
    principal = current_principal(request)
    forms = [
        (f, authority.FORM_LABELS[f])
        for f in SignForm
        if policy.may(principal, Action.MANAGE_SIGNING, GrantTarget(user.agency_id, f.value))
    ]
    revocable = {
        r.grant.id
        for r in rows
        if policy.may(principal, Action.MANAGE_SIGNING, GrantTarget(user.agency_id, r.grant.form))
    }
    context: dict[str, Any] = {
        "rows": rows,
        "revocable": revocable,
        "people": people,
        "forms": forms,
        "types": catalogue.TYPES,
        "labels": authority.FORM_LABELS,
        "error": error,
        "values": values or {},
        "today": on,
        "lang": language(request),
    }
    return render(request, "authority/grants.html", context, status_code=status)


async def grants_page(request: Request) -> Response:
    return await _grants_page(request)


async def grant_give(request: Request) -> Response:
    async with request.form() as form:
        fields = {k: str(v) for k, v in form.multi_items() if k != "types"}
        types = [str(v) for v in form.getlist("types")]
    try:
        parsed = authority.parse_grant(fields, types)
        async with transaction(request) as db:
            await authority.give(
                db, clock=resources(request).clock, actor=current_user(request), form=parsed
            )
    except EofficeError as error:
        return await _grants_page(
            request,
            error=error.message(language(request)),
            values=fields,
            status=error.status_code,
        )
    return RedirectResponse(request.url_for("signing_grants").path + "?given=1", status_code=303)


async def grant_revoke(request: Request) -> Response:
    async with request.form() as form:
        reason = str(form.get("reason", ""))
    try:
        async with transaction(request) as db:
            await authority.revoke(
                db,
                clock=resources(request).clock,
                actor=current_user(request),
                grant_id=request.path_params["grant_id"],
                reason=reason,
            )
    except EofficeError as error:
        return await _grants_page(
            request, error=error.message(language(request)), status=error.status_code
        )
    return RedirectResponse(request.url_for("signing_grants").path + "?revoked=1", status_code=303)


async def _absences_page(
    request: Request, *, error: str = "", values: dict[str, str] | None = None, status: int = 200
) -> Response:
    user = current_user(request)
    on = authority.today(resources(request).clock)
    principal = current_principal(request)
    async with transaction(request) as db:
        rows = await authority.absences(db, agency_id=user.agency_id, on=on)
        deputies = await authority.deputies(db, agency_id=user.agency_id, absent_id=user.id)
        # An administrator marks anyone's (a leader who forgot before leaving).
        others = (
            await authority.deputies(db, agency_id=user.agency_id, absent_id=0)
            if policy.may(principal, Action.MARK_ABSENCE, AbsenceRef(user.agency_id, 0))
            else []
        )
    context: dict[str, Any] = {
        "rows": [
            (
                a,
                who,
                deputy,
                policy.may(principal, Action.MARK_ABSENCE, AbsenceRef(a.agency_id, a.user_id)),
            )
            for a, who, deputy in rows
        ],
        "deputies": deputies,
        "others": others,
        "error": error,
        "values": values or {},
        "today": on,
    }
    return render(request, "authority/absences.html", context, status_code=status)


async def absences_page(request: Request) -> Response:
    return await _absences_page(request)


async def absence_mark(request: Request) -> Response:
    async with request.form() as form:
        fields = {k: str(v) for k, v in form.multi_items()}
    user = current_user(request)
    try:
        parsed = authority.parse_absence(fields, user_id=user.id)
        async with transaction(request) as db:
            await authority.mark_absence(
                db, clock=resources(request).clock, actor=user, form=parsed
            )
    except EofficeError as error:
        return await _absences_page(
            request, error=error.message(language(request)), values=fields, status=error.status_code
        )
    return RedirectResponse(request.url_for("absences").path + "?marked=1", status_code=303)


async def absence_end(request: Request) -> Response:
    try:
        async with transaction(request) as db:
            await authority.end_absence(
                db,
                clock=resources(request).clock,
                actor=current_user(request),
                absence_id=request.path_params["absence_id"],
            )
    except EofficeError as error:
        return await _absences_page(
            request, error=error.message(language(request)), status=error.status_code
        )
    return RedirectResponse(request.url_for("absences").path + "?ended=1", status_code=303)
