"""The province's office and its Sở Tài chính as two eOffice server processes (their own
databases and data directories) and `eoffice axis-sim`, all real processes: what the Sở's
people do over HTTP reaches the province as statuses 01, 03, 04, 05, 06, with nobody polling
by hand; and a sender process killed mid-send delivers its packet once.

The test keeps an app of its own on each office's database (no job runner, no push worker) to
seed it and to look at it; the servers do the work.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import select

from backend.core.settings import Settings
from backend.interchange.tables import AxisDelivery, AxisReceived, AxisStatusEvent, ReceivedState
from backend.workflow.tables import Assignment
from tests.backend.identity.conftest import sign_in_as
from tests.backend.interchange.conftest import (
    FINANCE,
    Office,
    finance_office,
    issued_document,
    office_settings,
    province_office,
    send,
)
from tests.conftest import free_port
from tests.support.axis_sim import AxisSimProcess
from tests.support.process_server import ProcessServer

pytestmark = pytest.mark.anyio
T = TypeVar("T")


def served(settings: Settings) -> tuple[ProcessServer, Settings]:
    """The office's server process: its runner on (looking for jobs every half second), the
    axis polled every second, a short job lease (a dead sender's job is taken over soon)."""
    port = free_port()
    running = replace(
        settings,
        base_url=f"http://localhost:{port}",
        jobs_worker=True,
        scheduler=True,
        axis_poll_seconds=1,
        jobs_lease_seconds=2,
    )
    return ProcessServer(running, port), running


async def until(probe: Callable[[], Awaitable[T | None]], what: str, seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await probe()
        if found is not None and found is not False:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def session_for(office: Office, user_id: int) -> httpx.AsyncClient:
    async with office.app.client(office.res.settings.origin) as http:
        await sign_in_as(office.app, http, user_id)
        return httpx.AsyncClient(
            cookies={
                office.res.settings.session_cookie: str(
                    http.cookies.get(office.res.settings.session_cookie)
                )
            },
            headers={"Sec-Fetch-Site": "same-origin"},
            timeout=60,
        )


async def delivery_of(office: Office, document_id: int) -> AxisDelivery:
    """The recipient's delivery of a document (not an update packet's)."""
    async with office.res.sessions() as db:
        return await db.get_one(
            AxisDelivery,
            await db.scalar(
                select(AxisDelivery.id).where(
                    AxisDelivery.document_id == document_id, AxisDelivery.about_id.is_(None)
                )
            ),
        )


async def waiting(office: Office, state: ReceivedState) -> AxisReceived | None:
    """The newest received packet in that state."""
    async with office.res.sessions() as db:
        return await db.scalar(
            select(AxisReceived)
            .where(AxisReceived.state == state)
            .order_by(AxisReceived.id.desc())
            .limit(1)
        )


async def answered(office: Office, document_id: int, field: str, value: str) -> bool:
    return str(getattr(await delivery_of(office, document_id), field)) == value


async def test_the_sender_sees_every_status_of_the_other_process(
    tmp_path: Path, sqlite_template: Path, redis_url: str, axis: AxisSimProcess
) -> None:
    province_settings = office_settings(tmp_path, sqlite_template, redis_url, axis, "province")
    finance_settings = office_settings(tmp_path, sqlite_template, redis_url, axis, "finance")
    province_gen = province_office(province_settings)
    finance_gen = finance_office(finance_settings)
    sender, receiver = await anext(province_gen), await anext(finance_gen)
    sender_server, _ = served(province_settings)
    receiver_server, _ = served(finance_settings)
    try:
        await asyncio.to_thread(sender_server.start)
        await asyncio.to_thread(receiver_server.start)
        origin = receiver_server.url
        clerk = await session_for(receiver, receiver.clerk.id)
        leader = await session_for(receiver, receiver.leader.id)
        specialist = await session_for(receiver, receiver.specialist.id)

        document_id = await issued_document(sender)
        await send(sender, document_id, FINANCE)

        async def pending() -> AxisReceived | None:
            async with receiver.res.sessions() as db:
                return await db.scalar(
                    select(AxisReceived).where(AxisReceived.state == ReceivedState.PENDING)
                )

        row = await until(pending, "the Sở's server to take the packet in")

        async def status_is(code: str) -> bool:
            async with sender.res.sessions() as db:
                delivery = await db.scalar(
                    select(AxisDelivery).where(AxisDelivery.document_id == document_id)
                )
                return delivery is not None and delivery.status_code == code

        await until(lambda: status_is("01"), "01 at the province")

        # The Sở's clerk registers it in the browser's way: a form post.
        page = await clerk.get(f"{origin}/axis/inbox")
        assert page.status_code == 200 and row.number_symbol in page.text
        registered = await clerk.post(
            f"{origin}/axis/inbox/{row.id}/register",
            headers={"Origin": origin},
            follow_redirects=False,
        )
        assert registered.status_code == 303, registered.text
        incoming_id = int(registered.headers["location"].rstrip("/").split("/")[-1])
        await until(lambda: status_is("03"), "03 at the province")

        assigned = await leader.post(
            f"{origin}/documents/{incoming_id}/assign",
            data={"lead": f"u:{receiver.specialist.id}", "direction": "Báo cáo trước ngày 20."},
            headers={"Origin": origin},
        )
        assert assigned.status_code in (200, 303), assigned.text
        await until(lambda: status_is("04"), "04 at the province")

        async with receiver.res.sessions() as db:
            hop = await db.scalar(select(Assignment).where(Assignment.document_id == incoming_id))
        assert hop is not None
        progress = await specialist.post(
            f"{origin}/assignments/{hop.id}/progress",
            data={"note": "Đang tổng hợp số liệu.", "percent": "40"},
            headers={"Origin": origin},
        )
        assert progress.status_code in (200, 303), progress.text
        await until(lambda: status_is("05"), "05 at the province")

        done = await specialist.post(
            f"{origin}/assignments/{hop.id}/complete",
            data={"result": "Đã gửi báo cáo số 45/BC-STC."},
            headers={"Origin": origin},
        )
        assert done.status_code in (200, 303), done.text
        await until(lambda: status_is("06"), "06 at the province")

        async with sender.res.sessions() as db:
            seen = list(
                await db.scalars(
                    select(AxisStatusEvent.code)
                    .join(AxisDelivery, AxisDelivery.id == AxisStatusEvent.delivery_id)
                    .where(AxisDelivery.document_id == document_id)
                    .order_by(AxisStatusEvent.id)
                )
            )
        assert seen == ["01", "03", "04", "05", "06"]

        # The province's clerk, on its server, sends an update of that document; the Sở's
        # clerk agrees (15) and the province sees it.
        office = sender_server.url
        province_clerk = await session_for(sender, sender.clerk.id)
        delivery = await delivery_of(sender, document_id)
        updated = await province_clerk.post(
            f"{office}/documents/{document_id}/axis/update",
            data={"delivery": str(delivery.id), "update_reason": "Bổ sung phụ lục số liệu."},
            headers={"Origin": office},
        )
        assert updated.status_code == 200, updated.text
        update = await until(lambda: waiting(receiver, ReceivedState.UPDATE), "the update")
        agreed = await clerk.post(
            f"{origin}/axis/inbox/{update.id}/update",
            data={"decision": "accept"},
            headers={"Origin": origin},
            follow_redirects=False,
        )
        assert agreed.status_code == 303, agreed.text
        await until(lambda: answered(sender, document_id, "update_state", "accepted"), "15")

        # A second document: the Sở returns it with a reason (02), seen by the province.
        returned_id = await issued_document(sender, number=13)
        await send(sender, returned_id, FINANCE)
        second = await until(lambda: waiting(receiver, ReceivedState.PENDING), "the second")
        back = await clerk.post(
            f"{origin}/axis/inbox/{second.id}/return",
            data={"reason": "Gửi nhầm nơi nhận, đề nghị gửi Sở Kế hoạch và Đầu tư."},
            headers={"Origin": origin},
            follow_redirects=False,
        )
        assert back.status_code == 303, back.text
        await until(lambda: answered(sender, returned_id, "status_code", "02"), "02")
        assert (await delivery_of(sender, returned_id)).status_note == (
            "Gửi nhầm nơi nhận, đề nghị gửi Sở Kế hoạch và Đầu tư."
        )

        # A third, registered there, then recalled from the province: refused (16), asked
        # again, accepted (15).
        recalled_id = await issued_document(sender, number=14)
        await send(sender, recalled_id, FINANCE)
        third = await until(lambda: waiting(receiver, ReceivedState.PENDING), "the third")
        taken = await clerk.post(
            f"{origin}/axis/inbox/{third.id}/register",
            headers={"Origin": origin},
            follow_redirects=False,
        )
        assert taken.status_code == 303, taken.text
        await until(lambda: answered(sender, recalled_id, "status_code", "03"), "03")
        for decision, expected in (("refuse", "refused"), ("accept", "accepted")):
            recall = await province_clerk.post(
                f"{office}/documents/{recalled_id}/axis/recall",
                data={
                    "delivery": str((await delivery_of(sender, recalled_id)).id),
                    "reason": "Văn bản ban hành chưa đúng thẩm quyền.",
                },
                headers={"Origin": office},
            )
            assert recall.status_code == 200, recall.text

            async def asked() -> bool:
                async with receiver.res.sessions() as db:
                    row = await db.get_one(AxisReceived, third.id)
                    return row.recall == "requested"

            await until(asked, "the recall request at the Sở")
            answer = await clerk.post(
                f"{origin}/axis/inbox/{third.id}/recall",
                data={"decision": decision, "reason": "Văn bản đã được phân công xử lý."},
                headers={"Origin": origin},
                follow_redirects=False,
            )
            assert answer.status_code == 303, answer.text
            reached = functools.partial(answered, sender, recalled_id, "recall", expected)
            await until(reached, expected)
        for http in (clerk, leader, specialist, province_clerk):
            await http.aclose()
    finally:
        sender_server.stop()
        receiver_server.stop()
        await finance_gen.aclose()
        await province_gen.aclose()


async def test_a_sender_killed_mid_send_delivers_once(
    tmp_path: Path, sqlite_template: Path, redis_url: str, axis: AxisSimProcess
) -> None:
    province_settings = office_settings(tmp_path, sqlite_template, redis_url, axis, "province")
    province_gen = province_office(province_settings)
    sender = await anext(province_gen)
    first, _ = served(province_settings)
    second, _ = served(province_settings)
    try:
        # Each call to the axis takes 3 s: the send is in flight when the process dies.
        await axis.ahook("/_sim/slow", {"seconds": 3})
        await asyncio.to_thread(first.start)
        document_id = await issued_document(sender)
        await send(sender, document_id, FINANCE)

        async def sending() -> bool:
            async with sender.res.sessions() as db:
                state = await db.scalar(
                    select(AxisDelivery.state).where(AxisDelivery.document_id == document_id)
                )
            return state == "sending"

        await until(sending, "the first server to start sending")
        await asyncio.to_thread(first.kill)
        await axis.ahook("/_sim/slow", {"seconds": 0})
        await asyncio.to_thread(second.start)

        async def sent() -> AxisDelivery | None:
            async with sender.res.sessions() as db:
                delivery = await db.scalar(
                    select(AxisDelivery).where(AxisDelivery.document_id == document_id)
                )
            return delivery if delivery is not None and delivery.state == "sent" else None

        delivery = await until(sent, "the second server to finish the send")
        knobsticks = [
            k
            for k in await axis.ahook("/_sim/knobsticks")
            if k["messageType"] == "edoc" and k["to"] == FINANCE
        ]
        assert len(knobsticks) == 1, knobsticks
        assert delivery.axis_doc_id == knobsticks[0]["senderDocId"]
    finally:
        first.stop()
        second.stop()
        await province_gen.aclose()
