"""The leader's (and unit head's) dashboard, its drill-down lists and the CSV export; for those
who see the whole agency, the documents sent over the axis per recipient (`tracking`)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from backend.core.clock import VIETNAM
from backend.documents import catalogue
from backend.documents.catalogue import Status
from backend.identity import policy
from backend.identity.policy import WHOLE_AGENCY, Action
from backend.interchange import tracking
from backend.web import htmx
from backend.web.views.auth import current_principal, transaction
from backend.web.views.render import render, resources
from backend.workflow import charts, dashboard, dashboard_cache

STATUS_ORDER = (
    Status.REGISTERED,
    Status.ASSIGNED,
    Status.IN_PROGRESS,
    Status.COMPLETED,
    Status.RETURNED,
)


def _period(request: Request) -> tuple[int, date, date, date]:
    today = resources(request).clock.now().astimezone(VIETNAM).date()
    raw = request.query_params.get("year", "")
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= today.year else today.year
    return year, date(year, 1, 1), date(year, 12, 31), today


def _scope(request: Request) -> dashboard.Scope:
    principal = current_principal(request)
    if policy.may(principal, Action.VIEW_DASHBOARD, WHOLE_AGENCY):
        return dashboard.Scope(principal.agency_id)
    # A unit head without a unit sees nothing rather than the agency.
    return dashboard.Scope(principal.agency_id, unit_id=principal.unit_id or -1)


async def _figures(request: Request) -> tuple[int, dashboard_cache.Figures]:
    year, start, end, today = _period(request)
    res = resources(request)
    figures = await dashboard_cache.figures(
        res.sessions,
        res.redis,
        clock=res.clock,
        scope=_scope(request),
        start=start,
        end=end,
        today=today,
    )
    return year, figures


async def _sent_over_the_axis(request: Request) -> list[tracking.RecipientFigures] | None:
    """The province-down view: for those who see the whole agency's dashboard only."""
    if not policy.may(current_principal(request), Action.VIEW_DASHBOARD, WHOLE_AGENCY):
        return None
    _, start, end, _ = _period(request)
    async with transaction(request) as db:
        return await tracking.by_recipient(
            db,
            agency_id=current_principal(request).agency_id,
            now=resources(request).clock.now(),
            start=start,
            end=end,
        )


async def dashboard_page(request: Request) -> Response:
    year, figures = await _figures(request)
    found = figures.numbers
    block = "figures" if htmx.is_partial(request) else None
    listing = request.url_for("dashboard_list").path
    status_chart = charts.bars(
        [
            (
                catalogue.STATUS_LABELS[code],
                found.by_status.get(code, 0),
                f"{listing}?year={year}&metric=status&key={code.value}",
            )
            for code in STATUS_ORDER
        ]
    )
    trend = charts.bars(
        [(f"{w:%d/%m}", received, "") for w, received, _ in found.weeks], height=180
    )
    context: dict[str, Any] = {"n": found, "year": year, "status_chart": status_chart,
                               "trend": trend, "statuses": catalogue.STATUS_LABELS,
                               "as_of": figures.at.astimezone(VIETNAM),
                               "current": figures.current,
                               "axis": None if block else await _sent_over_the_axis(request),
                               "axis_filters": tracking.Filter}  # fmt: skip
    response = render(request, "dashboard/dashboard.html", context, block=block)
    if block:
        response.headers["Cache-Control"] = "no-store"
    return htmx.vary_on_htmx(response)


async def dashboard_list(request: Request) -> Response:
    year, start, end, today = _period(request)
    metric = request.query_params.get("metric", "")
    key = request.query_params.get("key", "")
    async with transaction(request) as db:
        documents = await dashboard.drill_down(
            db, scope=_scope(request), start=start, end=end, today=today, metric=metric, key=key
        )
    context = {
        "documents": documents,
        "year": year,
        "metric": metric,
        "key": key,
        "statuses": catalogue.STATUS_LABELS,
    }
    return render(request, "dashboard/list.html", context)


async def dashboard_csv(request: Request) -> Response:
    year, figures = await _figures(request)
    found = figures.numbers
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Họ và tên",
            "Đơn vị",
            "Được giao chủ trì",
            "Hoàn thành",
            "Đúng hạn",
            "Quá hạn khi hoàn thành",
            "Đang quá hạn",
            "Tỷ lệ đúng hạn (%)",
            "Thời gian xử lý trung vị (ngày)",
        ]
    )
    for p in found.people:
        rate = "" if p.on_time_rate is None else f"{p.on_time_rate * 100:.1f}"
        median = "" if p.median_days is None else f"{p.median_days:.1f}"
        writer.writerow(
            [
                p.name,
                p.unit,
                p.assigned,
                p.completed,
                p.on_time,
                p.late,
                p.overdue_open,
                rate,
                median,
            ]
        )
    # A BOM so Excel opens the Vietnamese text as UTF-8.
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="danh-gia-{year}.csv"',
            "Cache-Control": "no-store",
        },
    )
