"""The JSON API (/api/v1), for service accounts holding bearer tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.core.models import Agency, ServiceAccount
from backend.identity.policy import ServicePrincipal
from backend.web.views.auth import transaction


async def me(request: Request) -> JSONResponse:
    principal: ServicePrincipal = request.state.api_principal
    async with transaction(request) as db:
        account = await db.get_one(ServiceAccount, principal.service_account_id)
        agency = await db.get_one(Agency, principal.agency_id)
    return JSONResponse(
        {
            "service_account": {"id": account.id, "name": account.name},
            "agency": {"code": agency.code, "name": agency.name},
            "scopes": sorted(principal.scopes),
        },
        headers={"Cache-Control": "no-store"},
    )
