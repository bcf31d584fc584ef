"""Deadlines with an hour through the forms: a date alone means the configured end of the working
day (EOFFICE_DEADLINE_TIME, here 16:30), and a hand-down is never later than its parent, to the
minute."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from backend.core.settings import Settings, SettingsError
from backend.workflow import deadlines
from backend.workflow.tables import Assignment
from tests.backend.identity.conftest import World
from tests.backend.workflow.helpers import registered
from tests.backend.workflow.test_assignments import as_user, html, rows
from tests.conftest import make_settings
from tests.support.lifespan import LifespanManager

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return replace(make_settings(tmp_path, database_url, redis_url), deadline_time="16:30")


def test_the_hour_setting_is_checked() -> None:
    with pytest.raises(SettingsError):
        Settings(deadline_time="5pm")


async def test_a_date_alone_means_the_configured_hour_and_nesting_is_to_the_minute(
    app: LifespanManager, client: httpx.AsyncClient, world: World
) -> None:
    ids = world.user_ids
    doc = await registered(app, world.agency_id)
    await as_user(app, client, ids["leader"])
    hint = html(await client.get(f"/documents/{doc}")).select_one("#assign-form .deadline__hint")
    assert "16:30" in hint.get_text()
    assert (
        await client.post(
            f"/documents/{doc}/assign",
            data={"lead": f"d:{world.unit_id}", "deadline": "2026-03-06"},
        )
    ).status_code == 303
    [top] = await rows(app, Assignment, Assignment.document_id == doc)
    assert top.deadline is not None and deadlines.label(top.deadline) == "16:30 06/03/2026"

    await as_user(app, client, ids["unit_head"])
    page = html(await client.get(f"/documents/{doc}"))
    form = page.select_one(f"form[action='/assignments/{top.id}/reassign']")
    # The hand-down form starts from the parent's date and hour.
    assert form.select_one("input[name=deadline]")["value"] == "2026-03-06"
    assert form.select_one("input[name=deadline]")["max"] == "2026-03-06"
    assert form.select_one("input[name=deadline_time]")["value"] == "16:30"
    later = await client.post(
        f"/assignments/{top.id}/reassign",
        data={
            "lead": f"u:{ids['specialist']}",
            "deadline": "2026-03-06",
            "deadline_time": "16:31",
        },
    )
    assert later.status_code == 422
    assert "(16:30 06/03/2026)" in later.text
    # Monday 08:30 now: 08:00 today has passed.
    past = await client.post(
        f"/assignments/{top.id}/reassign",
        data={
            "lead": f"u:{ids['specialist']}",
            "deadline": "2026-03-02",
            "deadline_time": "08:00",
        },
    )
    assert past.status_code == 422
    ok = await client.post(
        f"/assignments/{top.id}/reassign",
        data={
            "lead": f"u:{ids['specialist']}",
            "deadline": "2026-03-06",
            "deadline_time": "09:00",
        },
    )
    assert ok.status_code == 303
    [child] = await rows(app, Assignment, Assignment.parent_id == top.id)
    assert child.deadline is not None and deadlines.label(child.deadline) == "09:00 06/03/2026"
