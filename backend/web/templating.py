"""Jinja2 templates from pwa/templates, with gettext, asset URLs, route paths and the policy as
globals."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from jinja2_fragments.starlette import Jinja2Blocks

from backend.core.clock import VIETNAM
from backend.core.i18n import Translations
from backend.core.settings import Settings
from backend.core.urls import UrlFor
from backend.identity import policy
from backend.identity.policy import Action
from backend.runtime.assets import PWA_DIR, Assets

PWA_TEMPLATES = PWA_DIR / "templates"
PWA_LOCALE = PWA_DIR / "locale"


def vn_datetime(at: datetime) -> str:
    return at.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")


def vn_due(at: date | datetime) -> str:
    """A deadline as people read it: "17:00 27/11/2026", or the bare date for a day."""
    return vn_datetime(at) if isinstance(at, datetime) else at.strftime("%d/%m/%Y")


def isodate(at: datetime) -> str:
    return at.isoformat()


@pass_context
def may(context: Context, action: Action | str, obj: object = None) -> bool:
    """`policy.may` for the person the page is rendered for (none on public pages). A misspelt
    action fails the render rather than hiding a button."""
    request = context.get("request")
    principal = getattr(request.state, "principal", None) if request is not None else None
    return policy.may(principal, Action(action), obj)


def make_templates(
    *,
    settings: Settings,
    translations: Translations,
    assets: Assets,
    url_for: UrlFor,
    directory: Path = PWA_TEMPLATES,
) -> Jinja2Blocks:
    templates = Jinja2Blocks(directory=str(directory))
    env = templates.env
    env.autoescape = True
    env.trim_blocks = True
    env.lstrip_blocks = True

    @pass_context
    def gettext(context: Context, message: str, **params: Any) -> str:
        return translations.gettext(
            context.get("lang", settings.default_language), message, **params
        )

    env.globals["_"] = gettext
    # From the router, not the request, so that macros imported without the page's context
    # (documents/_item.html) can use it too.
    env.globals["url_for"] = url_for
    env.filters["vn_datetime"] = vn_datetime
    env.filters["vn_due"] = vn_due
    env.filters["isodate"] = isodate
    env.globals["static"] = assets.url
    env.globals["demo"] = settings.demo
    env.globals["may"] = may
    env.globals["Action"] = Action
    env.globals["WHOLE_AGENCY"] = policy.WHOLE_AGENCY
    return templates
