"""A signed document is announced by Web Push to its drafter and the agency's clerks: the
notices are outbox rows committed with the signed version, sent by their jobs to a real local
push service that verifies VAPID and decrypts the payload."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from backend.push.tables import PushOutbox
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.signing_flow.conftest import Leader, make_draft, resources_of
from tests.backend.signing_flow.test_passkey_signing import assertion, confirm, prepare
from tests.support.lifespan import LifespanManager
from tests.support.push_service import PushService, push_service

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
async def service(app: LifespanManager) -> AsyncIterator[PushService]:
    async with push_service(resources_of(app).push.keys.public_key) as running:
        yield running


async def test_drafter_and_clerk_get_a_push_when_the_leader_signs(
    app: LifespanManager, leader: Leader, service: PushService
) -> None:
    ids = leader.world.user_ids
    for role in ("specialist", "clerk"):
        async with app.client() as http:
            browser_like(http)
            await sign_in_as(app, http, ids[role])
            device = service.device(f"{role}-phone")
            response = await http.post("/push/subscribe", json=device.subscription(service.base))
            assert response.status_code == 201, response.text
    document_id = await make_draft(
        app, leader.world, subject="Công điện ứng phó bão số 9", urgency=3
    )
    tx_id = await prepare(leader, document_id)
    done = await confirm(leader, tx_id, await assertion(leader, tx_id))
    assert done.json()["status"] == "completed"  # type: ignore[attr-defined]

    got = sorted(await service.wait_for(2), key=lambda g: g.device)
    assert [g.device for g in got] == ["clerk-phone", "specialist-phone"]
    for each in got:
        assert each.payload["title"] == "Văn bản đã được ký: Công điện ứng phó bão số 9"
        assert each.payload["body"] == "Người leader đã ký số. Văn thư cấp số và phát hành."
        assert each.payload["url"] == f"/documents/{document_id}"
        assert each.headers["urgency"] == "high"  # Hỏa tốc
    assert service.refusals == []
    async with resources_of(app).sessions() as db:
        rows = list(await db.scalars(select(PushOutbox).order_by(PushOutbox.user_id)))
    assert sorted(r.user_id for r in rows) == sorted([ids["specialist"], ids["clerk"]])
    assert all(r.dedupe_key and r.dedupe_key.startswith("signed:") for r in rows)
