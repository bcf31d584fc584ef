"""The installable shell: home, offline fallback, manifest, service worker, assets, language."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from backend.core.i18n import LANGUAGE_COOKIE, LANGUAGES
from backend.documents import catalogue
from backend.runtime.assets import Assets
from backend.web import htmx
from backend.web.views.auth import safe_next, signin_redirect, transaction
from backend.web.views.render import language, render, resources, url_builder
from backend.workflow import home as home_work

THEME_COLOUR = "#8f1d1d"
BACKGROUND_COLOUR = "#fbf7f2"


def _assets(request: Request) -> Assets:
    return resources(request).assets


async def home(request: Request) -> Response:
    if getattr(request.state, "session_status", "none") == "expired":
        return signin_redirect(request, reason="expired")
    user = getattr(request.state, "user", None)
    principal = getattr(request.state, "principal", None)
    if user is None or principal is None:
        return render(request, "home.html")
    async with transaction(request) as db:
        work = await home_work.today(
            db, user=user, principal=principal, now=resources(request).clock.now()
        )
    # The live refresh (an SSE event on #live) asks for the sections alone.
    block = "today" if htmx.is_partial(request) else None
    response = htmx.vary_on_htmx(
        render(
            request,
            "home.html",
            {
                "work": work,
                "urgency_labels": catalogue.URGENCY_LABELS,
                "urls": url_builder(request),
            },
            block=block,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def offline(request: Request) -> Response:
    return render(request, "offline.html")


async def manifest(request: Request) -> Response:
    assets = _assets(request)
    lang = language(request)
    home = request.url_for("home").path
    icons = [
        {"src": assets.url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": assets.url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": assets.url("icons/maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    body = {
        "id": home,
        "name": "eOffice — Văn phòng điện tử" if lang == "vi" else "eOffice — Electronic office",
        "short_name": "eOffice",
        "description": "Văn phòng điện tử không giấy tờ cho cơ quan nhà nước"
        if lang == "vi"
        else "Paperless electronic office for state agencies",
        "lang": lang,
        "start_url": home + "?source=pwa",
        "scope": home,
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }
    return Response(
        json.dumps(body, ensure_ascii=False),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


def _js_pattern(request: Request, name: str) -> str:
    """The named route's own path regex, as the source of a JavaScript RegExp."""
    route = next(r for r in request.app.routes if isinstance(r, Route) and r.name == name)
    return route.path_regex.pattern.replace("(?P<", "(?<")


async def service_worker(request: Request) -> Response:
    assets = _assets(request)
    shell = [request.url_for("offline").path, request.url_for("manifest").path]
    precache = shell + [assets.url(name) for name in assets.files]
    context = {
        "version": assets.fingerprint,
        "precache_json": json.dumps(precache),
        "page_image_pattern": _js_pattern(request, "document_page"),
    }
    response = render(request, "sw.js", context)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    # The browser must always see a new worker when the assets change.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = request.url_for("home").path
    return response


async def static(request: Request) -> Response:
    assets = _assets(request)
    asset = assets.files.get(request.path_params["path"])
    if asset is None:
        return Response(status_code=404)
    immutable = request.query_params.get("v") == asset.version
    headers = {"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
    if asset.gzipped is None:
        return FileResponse(asset.path, media_type=asset.media_type, headers=headers)
    headers["Vary"] = "Accept-Encoding"
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return FileResponse(asset.path, media_type=asset.media_type, headers=headers)


def accepts_gzip(header: str) -> bool:
    """`gzip` in Accept-Encoding, unless refused with q=0."""
    for part in header.split(","):
        coding, _, params = part.partition(";")
        if coding.strip().lower() == "gzip":
            name, _, value = params.partition("=")
            try:
                return name.strip() != "q" or float(value) > 0
            except ValueError:
                return False
    return False


async def switch_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    target = safe_next(request, request.query_params.get("next"))
    response = RedirectResponse(target, status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=False
        )
    return response
