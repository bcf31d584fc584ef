"""Two offices exchange a document through `eoffice axis-sim` (a real process): the province's
office (system 00.53.W00) sends an issued document to the Sở Tài chính (system 00.54.W00, its
own eOffice with its own database) and to a commune that is not on eOffice. Both apps run in
this process; their jobs are run by calling the handlers, so each step is seen in order.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from backend.core.errors import ValidationError
from backend.core.jobs import ClaimedJob, Job
from backend.core.models import User
from backend.documents import catalogue
from backend.documents.tables import Document
from backend.interchange import inbox, outbox, reception, statuses, xmlsig
from backend.interchange.errors import InterchangeError
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisStatusEvent,
    DeliveryState,
    RecallState,
    ReceivedState,
)
from backend.push.tables import PushOutbox
from backend.workflow import assignments
from backend.workflow.assignments import Actor, Party, Plan
from backend.workflow.tables import Assignment, State
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.interchange.conftest import (
    COMMUNE,
    FINANCE,
    PROVINCE,
    Office,
    clerk_of,
    deliveries,
    issued_document,
    poll,
    received,
    run_queued,
    send,
    services_of,
)
from tests.support.axis_sim import AxisSimProcess

pytestmark = pytest.mark.anyio


async def test_send_receive_register_and_the_statuses_the_sender_sees(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await send(sender, document_id, FINANCE, COMMUNE)
    assert await run_queued(sender, outbox.SEND_JOB) == 1
    sent = await deliveries(sender, document_id)
    assert not sent[COMMUNE].last_error, sent[COMMUNE].last_error
    assert {code: d.state for code, d in sent.items()} == {
        FINANCE: DeliveryState.SENT,
        COMMUNE: DeliveryState.SENT,
    }
    assert all(d.axis_doc_id for d in sent.values())
    # One packet, built once, went to both.
    knobsticks = await axis.ahook("/_sim/knobsticks")
    edocs = [k for k in knobsticks if k["messageType"] == "edoc"]
    assert {k["to"] for k in edocs} == {FINANCE, COMMUNE}
    assert len({k["sha256"] for k in edocs}) == 1

    # The Sở polls: the packet is kept, acknowledged, waits for its clerk; 01 goes back.
    await poll(receiver)
    (row,) = await received(receiver)
    assert row.state == ReceivedState.PENDING and row.kind == "edoc"
    assert row.sender_code == PROVINCE and row.number_symbol == "12/UBND-KT"
    assert row.checks == {
        "files": [{"name": "cv-12.pdf", "pdf": True, "pages": 1, "signed": False}],
        "verified": False,
    }
    # The deep check and the signatures come after, as a job.
    assert await run_queued(receiver, inbox.CHECK_JOB) == 1
    (row,) = await received(receiver)
    assert row.checks["verified"] is True
    assert row.checks["files"][0]["signatures"] == {"status": "unsigned"}
    # The packet itself carries the province's seal signature (XML-DSig), and it holds.
    assert sender.seal is not None
    assert row.checks["packet_signature"] == {
        "state": "valid",
        "subject": sender.seal.subject,
        "reason_vi": "",
        "reason_en": "",
    }
    async with sender.res.sessions() as db:
        dispatch = await db.get_one(AxisDispatch, sent[FINANCE].dispatch_id)
    assert dispatch.signed_by == "CN=UBND tỉnh Tây Ninh"
    assert await run_queued(receiver, statuses.SEND_STATUS_JOB) == 1
    # Listed twice (a poll that finds it again) it is stored once.
    await poll(receiver)
    assert len(await received(receiver)) == 1

    await poll(sender)
    assert (await deliveries(sender, document_id))[FINANCE].status_code == "01"

    # Registered: số đến, source the axis, 03.
    async with receiver.res.sessions() as db, db.begin():
        clerk = await db.get_one(User, receiver.clerk.id)
        registered = await reception.register(
            db,
            clock=receiver.res.clock,
            services=services_of(receiver),
            clerk=clerk,
            received_id=row.id,
        )
        assert registered.source == catalogue.Source.AXIS
        assert registered.register_number == 1
        assert registered.symbol == "UBND-KT" and registered.number == 12
        assert registered.issuer_code == PROVINCE
    registered_id = registered.id
    assert await run_queued(receiver, statuses.SEND_STATUS_JOB) == 1
    await poll(sender)
    assert (await deliveries(sender, document_id))[FINANCE].status_code == "03"

    # Assigned, in progress, completed: 04, 05, 06 without the clerk.
    async with receiver.res.sessions() as db, db.begin():
        document = await db.get_one(Document, registered_id)
        leader = await db.get_one(User, receiver.leader.id)
        hop = await assignments.assign(
            db,
            clock=receiver.res.clock,
            actor=Actor(leader),
            document=document,
            plan=Plan(
                lead=Party(user_id=receiver.specialist.id),
                deadline=None,
                direction="Báo cáo số liệu thu ngân sách.",
            ),
        )
        await reception.follow_handling(db, clock=receiver.res.clock, document_ids=[registered_id])
    await run_queued(receiver, statuses.SEND_STATUS_JOB)
    await poll(sender)
    assert (await deliveries(sender, document_id))[FINANCE].status_code == "04"
    async with receiver.res.sessions() as db, db.begin():
        specialist = await db.get_one(User, receiver.specialist.id)
        hop = await db.get_one(type(hop), hop.id)
        await assignments.complete(
            db,
            clock=receiver.res.clock,
            actor=Actor(specialist),
            assignment=hop,
            result="Đã báo cáo.",
        )
        # The poll's catch-up finds it without the subscriber.
    await poll(receiver)
    await run_queued(receiver, statuses.SEND_STATUS_JOB)
    await poll(sender)
    final = (await deliveries(sender, document_id))[FINANCE]
    assert final.status_code == "06"
    async with sender.res.sessions() as db:
        codes = list(
            await db.scalars(
                select(AxisStatusEvent.code)
                .where(AxisStatusEvent.delivery_id == final.id)
                .order_by(AxisStatusEvent.id)
            )
        )
    assert codes == ["01", "03", "04", "06"]
    # Each status packet came signed with the Sở's seal, as its document packets would.
    assert receiver.seal is not None
    statuses_in = [r for r in await received(sender) if r.kind == "status"]
    assert len(statuses_in) == 4
    for row in statuses_in:
        seal = xmlsig.verify_packet(await sender.res.blobs.get(row.packet_sha256))
        assert (seal.state, seal.subject) == (xmlsig.SignatureState.VALID, receiver.seal.subject)
    # The commune never answered: still "sent, not yet received".
    assert (await deliveries(sender, document_id))[COMMUNE].status_code == ""


async def test_a_packet_changed_after_signing_is_invalid_and_one_without_a_seal_is_said(
    offices: tuple[Office, Office], caplog: pytest.LogCaptureFixture
) -> None:
    sender, receiver = offices
    changed_id = await issued_document(sender)
    await send(sender, changed_id, FINANCE)
    # Between the seal and the axis, someone edits the trích yếu of the stored packet.
    async with sender.res.sessions() as db, db.begin():
        dispatch = await db.scalar(
            select(AxisDispatch).where(AxisDispatch.document_id == changed_id)
        )
        assert dispatch is not None and dispatch.signed_by
        signed = await sender.res.blobs.get(dispatch.packet_sha256)
        changed = signed.replace("thu ngân sách".encode(), "chi ngân sách".encode())
        assert changed != signed
        dispatch.packet_sha256 = await sender.res.blobs.put(changed)
    # Another document, sent from an office without a seal key.
    unsigned_id = await issued_document(sender, number=13)
    with caplog.at_level(logging.WARNING, logger="backend.interchange.compose"):
        await send(replace(sender, seal=None), unsigned_id, FINANCE)
    assert "sent over the axis unsigned" in caplog.text
    assert await run_queued(sender, outbox.SEND_JOB) == 2
    await poll(receiver)
    assert await run_queued(receiver, inbox.CHECK_JOB) == 2
    edited, unsigned = sorted(await received(receiver), key=lambda r: r.number_symbol)
    # Reported, never a reason to refuse: both wait for the clerk.
    assert edited.number_symbol == "12/UBND-KT" and unsigned.number_symbol == "13/UBND-KT"
    assert edited.state == unsigned.state == ReceivedState.PENDING
    assert "chi ngân sách" in edited.subject
    assert edited.checks["packet_signature"]["state"] == "invalid"
    assert edited.checks["packet_signature"]["reason_vi"] == (
        "nội dung gói tin đã bị thay đổi sau khi ký"
    )
    assert unsigned.checks["packet_signature"]["state"] == "absent"
    # The sender's clerk sees on the unsigned one's tracking that it went without the seal.
    async with sender.app.client() as http:
        browser_like(http)
        await sign_in_as(sender.app, http, sender.clerk.id)
        panels = [
            BeautifulSoup((await http.get(f"/documents/{d}/axis")).text, "html.parser")
            for d in (unsigned_id, changed_id)
        ]
    warning = panels[0].select_one("[data-unsigned]")
    assert warning is not None and "không có chữ ký số XML" in warning.text
    assert panels[1].select_one("[data-unsigned]") is None
    assert panels[1].select_one(f'tr[data-recipient="{FINANCE}"]') is not None


async def test_returned_with_a_reason_and_a_packet_delivered_twice(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await axis.ahook("/_sim/duplicate", {"count": 1})
    await send(sender, document_id, FINANCE)
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    first, second = await received(receiver)
    # The same document twice (two axis DocIds): one waits for the clerk, one is its duplicate.
    assert first.state == ReceivedState.PENDING
    assert second.state == ReceivedState.DUPLICATE and second.duplicate_of_id == first.id
    async with receiver.res.sessions() as db, db.begin():
        with pytest.raises(ValidationError):
            await reception.refuse(
                db,
                clock=receiver.res.clock,
                clerk=await clerk_of(receiver, db),
                received_id=first.id,
                reason="",
            )
    async with receiver.res.sessions() as db, db.begin():
        await reception.refuse(
            db,
            clock=receiver.res.clock,
            clerk=await clerk_of(receiver, db),
            received_id=first.id,
            reason="Gửi nhầm nơi nhận: văn bản thuộc thẩm quyền của Sở Kế hoạch và Đầu tư.",
        )
    assert await run_queued(receiver, statuses.SEND_STATUS_JOB) == 2  # 01, 02
    await poll(sender)
    delivery = (await deliveries(sender, document_id))[FINANCE]
    assert delivery.status_code == "02"
    assert delivery.status_note.startswith("Gửi nhầm nơi nhận")
    async with receiver.res.sessions() as db:
        assert await db.scalar(select(Document.id)) is None  # nothing registered


async def test_recall_before_registration_is_withdrawn_at_once(
    offices: tuple[Office, Office],
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await send(sender, document_id, FINANCE, COMMUNE)
    # The commune's delivery fails first (the axis refuses once), so it is still ours to take
    # back; the Sở's is on the axis.
    await run_queued(sender, outbox.SEND_JOB)
    sent = await deliveries(sender, document_id)
    async with sender.res.sessions() as db, db.begin():
        row = await db.get_one(AxisDelivery, sent[COMMUNE].id)
        row.state = DeliveryState.FAILED
    await poll(receiver)
    async with sender.res.sessions() as db, db.begin():
        withdrawn, asked = await outbox.recall(
            db,
            clock=sender.res.clock,
            document_id=document_id,
            delivery_ids=[d.id for d in sent.values()],
            reason="Văn bản có sai sót về số liệu, sẽ ban hành văn bản thay thế.",
            clerk_id=sender.clerk.id,
            clerk_name=sender.clerk.full_name,
        )
    assert (withdrawn, asked) == (1, 1)
    await run_queued(sender, statuses.SEND_STATUS_JOB)  # 13
    await poll(receiver)
    (row,) = [r for r in await received(receiver) if r.kind == "edoc"]
    assert row.state == ReceivedState.WITHDRAWN and row.recall == RecallState.ACCEPTED
    await run_queued(receiver, statuses.SEND_STATUS_JOB)  # 01, 15
    await poll(sender)
    after = await deliveries(sender, document_id)
    assert after[FINANCE].recall == RecallState.ACCEPTED
    assert after[COMMUNE].state == DeliveryState.WITHDRAWN


async def test_recall_after_registration_is_the_clerks_decision(
    offices: tuple[Office, Office],
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await send(sender, document_id, FINANCE)
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    (row,) = await received(receiver)
    async with receiver.res.sessions() as db, db.begin():
        registered = await reception.register(
            db,
            clock=receiver.res.clock,
            services=services_of(receiver),
            clerk=await clerk_of(receiver, db),
            received_id=row.id,
        )
        leader = await db.get_one(User, receiver.leader.id)
        await assignments.assign(
            db,
            clock=receiver.res.clock,
            actor=Actor(leader),
            document=registered,
            plan=Plan(lead=Party(user_id=receiver.specialist.id), deadline=None),
        )
    registered_id = registered.id
    delivery = (await deliveries(sender, document_id))[FINANCE]

    async def recall(reason: str) -> None:
        async with sender.res.sessions() as db, db.begin():
            await outbox.recall(
                db,
                clock=sender.res.clock,
                document_id=document_id,
                delivery_ids=[delivery.id],
                reason=reason,
                clerk_id=sender.clerk.id,
                clerk_name=sender.clerk.full_name,
            )
        await run_queued(sender, statuses.SEND_STATUS_JOB)
        await poll(receiver)

    await recall("Đề nghị trả lại để bổ sung phụ lục.")
    async with receiver.res.sessions() as db:
        waiting = await reception.recalls(db, agency_id=receiver.agency.id)
    assert [r.id for r in waiting] == [row.id]
    async with receiver.res.sessions() as db, db.begin():
        await reception.answer_recall(
            db,
            clock=receiver.res.clock,
            clerk=await clerk_of(receiver, db),
            received_id=row.id,
            accept=False,
            reason="Văn bản đã được giao xử lý, đề nghị ban hành văn bản đính chính.",
        )
    await run_queued(receiver, statuses.SEND_STATUS_JOB)
    await poll(sender)
    assert (await deliveries(sender, document_id))[FINANCE].recall == RecallState.REFUSED

    # After a refusal the sender may ask again; this time the clerk agrees: the document is
    # cancelled here, kept, its open work closed, the specialist told.
    await recall("Văn bản ban hành sai thẩm quyền, đề nghị thu hồi.")
    async with receiver.res.sessions() as db, db.begin():
        await reception.answer_recall(
            db,
            clock=receiver.res.clock,
            clerk=await clerk_of(receiver, db),
            received_id=row.id,
            accept=True,
        )
    await run_queued(receiver, statuses.SEND_STATUS_JOB)
    await poll(sender)
    assert (await deliveries(sender, document_id))[FINANCE].recall == RecallState.ACCEPTED
    async with receiver.res.sessions() as db:
        document = await db.get_one(Document, registered_id)
        hops = list(
            await db.scalars(select(Assignment).where(Assignment.document_id == registered_id))
        )
        notices = list(
            await db.scalars(select(PushOutbox).where(PushOutbox.user_id == receiver.specialist.id))
        )
    assert document.status == catalogue.Status.RECALLED
    assert [h.state for h in hops] == [State.CANCELLED]
    assert any("thu hồi" in str(n.payload) for n in notices)


async def test_the_axis_down_for_a_while_loses_nothing_and_doubles_nothing(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await send(sender, document_id, FINANCE)
    await axis.ahook("/_sim/down", {"down": True})
    async with sender.res.sessions() as db:
        job = await db.scalar(select(Job).where(Job.kind == outbox.SEND_JOB))
    assert job is not None
    claimed = ClaimedJob(job.id, job.kind, job.payload, 1, job.max_attempts, job.run_at, None, "t")
    with pytest.raises(InterchangeError):
        await outbox.send_job(sender.res, claimed)
    assert (await deliveries(sender, document_id))[FINANCE].state == DeliveryState.QUEUED
    with pytest.raises(InterchangeError):
        await poll(receiver)
    await axis.ahook("/_sim/down", {"down": False})
    await outbox.send_job(sender.res, replace(claimed, attempt=2))
    await outbox.send_job(sender.res, replace(claimed, attempt=3))  # a duplicate run: no resend
    await poll(receiver)
    assert len(await received(receiver)) == 1
    assert (await deliveries(sender, document_id))[FINANCE].state == DeliveryState.SENT


async def test_a_send_whose_answer_was_lost_is_not_sent_twice(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await send(sender, document_id, FINANCE)
    await axis.ahook("/_sim/commit-then-timeout", {"count": 1, "seconds": 10})
    async with sender.res.sessions() as db:
        job = await db.scalar(select(Job).where(Job.kind == outbox.SEND_JOB))
    assert job is not None
    claimed = ClaimedJob(job.id, job.kind, job.payload, 1, job.max_attempts, job.run_at, None, "t")
    with pytest.raises(InterchangeError):
        await outbox.send_job(sender.res, claimed)
    assert (await deliveries(sender, document_id))[FINANCE].state == DeliveryState.SENDING
    await outbox.send_job(sender.res, replace(claimed, attempt=2))
    delivery = (await deliveries(sender, document_id))[FINANCE]
    assert delivery.state == DeliveryState.SENT and delivery.axis_doc_id
    sends = [s for s in await axis.ahook("/_sim/sends") if s["messageType"] == "edoc"]
    assert len(sends) == 1
    await poll(receiver)
    assert len(await received(receiver)) == 1
