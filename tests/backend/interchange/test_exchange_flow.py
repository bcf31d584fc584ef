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
from backend.core.models import Agency, AuditEntry, User
from backend.documents import catalogue
from backend.documents.intake import Limits, Registrar, Upload, register_incoming
from backend.documents.tables import Document, FileVersion
from backend.interchange import (
    compose,
    connection,
    edxml,
    inbox,
    outbox,
    reception,
    registration,
    replacements,
    statuses,
    updates,
    xmlsig,
)
from backend.interchange.errors import AxisRefusedError, InterchangeError
from backend.interchange.outbox import Recipient
from backend.interchange.packet import Attachment, BusinessDocType
from backend.interchange.tables import (
    AxisDelivery,
    AxisDispatch,
    AxisReceived,
    AxisStatusEvent,
    DeliveryState,
    RecallState,
    ReceivedState,
)
from backend.organisations import create_agency
from backend.push.tables import PushOutbox
from backend.workflow import assignments
from backend.workflow.assignments import Actor, Party, Plan
from backend.workflow.tables import Assignment, State
from signing.samples import make_sample_pdf
from tests.backend.identity.conftest import browser_like, sign_in_as
from tests.backend.interchange.conftest import (
    COMMUNE,
    FINANCE,
    OFFICE,
    PROVINCE,
    SECRETS,
    SYSTEMS,
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
MiB = 1024 * 1024


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


async def _update(sender: Office, document_id: int, delivery_id: int, reason: str) -> None:
    async with sender.res.sessions() as db, db.begin():
        record = await updates.send(
            db,
            clock=sender.res.clock,
            blobs=sender.res.blobs,
            max_packet_bytes=50 * MiB,
            document_id=document_id,
            delivery_ids=[delivery_id],
            reason=reason,
            clerk=await db.get_one(User, sender.clerk.id),
            seal=sender.seal,
        )
        # An update's packet is signed with the seal like the document's own.
        assert sender.seal is not None and record.signed_by == sender.seal.subject


async def _answer_update(receiver: Office, received_id: int, *, accept: bool, reason: str) -> None:
    async with receiver.res.sessions() as db, db.begin():
        await updates.answer(
            db,
            clock=receiver.res.clock,
            services=services_of(receiver),
            clerk=await clerk_of(receiver, db),
            received_id=received_id,
            accept=accept,
            reason=reason,
        )


async def _register(receiver: Office, received_id: int) -> Document:
    async with receiver.res.sessions() as db, db.begin():
        return await reception.register(
            db,
            clock=receiver.res.clock,
            services=services_of(receiver),
            clerk=await clerk_of(receiver, db),
            received_id=received_id,
        )


async def _answers_reach(receiver: Office, sender: Office) -> None:
    await run_queued(receiver, statuses.SEND_STATUS_JOB)
    await poll(sender)


async def _corrected(office: Office, document_id: int) -> None:
    """The sender's issued file changes (a corrected PDF as its next version)."""
    pdf = make_sample_pdf(title="Về việc báo cáo tình hình thu ngân sách quý IV (đã sửa)")
    async with office.res.sessions() as db, db.begin():
        main = (await db.get_one(Document, document_id)).files[0]
        db.add(
            FileVersion(
                file_id=main.id,
                version=main.current.version + 1,
                sha256=await office.res.blobs.put(pdf),
                size=len(pdf),
                media_type="application/pdf",
                page_count=1,
                reason="sửa",
                derived_from=[main.current.sha256],
                created_at=office.res.clock.now(),
            )
        )


async def _raw_update(
    sender: Office, document_id: int, *, organ_id: str, system: str, files: bool = True
) -> None:
    """An update of the province's document sent straight to the Sở by a system (`files`
    False: with no PDF in it)."""
    async with sender.res.sessions() as db:
        record = await db.scalar(
            select(AxisDispatch).where(AxisDispatch.document_id == document_id)
        )
        assert record is not None
    genuine = edxml.parse_document(await sender.res.blobs.get(record.packet_sha256))
    packet = replace(
        genuine,
        sender=replace(genuine.sender, organ_id=organ_id),
        business=replace(genuine.business, doc_type=BusinessDocType.UPDATE, reason="Cập nhật"),
        attachments=genuine.attachments
        if files
        else (Attachment("note", "ghi-chu.txt", "Ghi chú", "text/plain", b"khong phai PDF"),),
    )
    settings = replace(sender.res.settings, axis_system_id=system, axis_secret=SECRETS[system])
    async with connection.client(settings) as axis:
        await axis.send_edoc(
            from_code=organ_id, message_type="edoc", data=edxml.build_document(packet), to=[FINANCE]
        )


async def _replacement(sender: Office, replaced_id: int) -> int:
    """A new document replacing `replaced_id`, sent to the Sở; the choices refused first."""
    replacing_id = await issued_document(sender, number=13)
    foreign_id = await issued_document(sender, number=14)
    async with sender.res.sessions() as db, db.begin():
        province = await db.scalar(select(Agency).where(Agency.code == PROVINCE))
        assert province is not None
        # The province's own register: another agency than the office's clerk's.
        (await db.get_one(Document, foreign_id)).agency_id = province.id
        assert [d.id for d in await replacements.replaceable(db, agency_id=sender.agency.id)] == [
            replaced_id
        ]
        for wrong in (foreign_id, replacing_id, 999_999):  # another agency's; never sent; none
            with pytest.raises(ValidationError):
                await replacements.replacing(
                    db,
                    agency_id=sender.agency.id,
                    document_id=replacing_id,
                    replaced_id=wrong,
                    recipient_codes=[FINANCE],
                )
        replacing = await replacements.replacing(
            db,
            agency_id=sender.agency.id,
            document_id=replacing_id,
            replaced_id=replaced_id,
            recipient_codes=[FINANCE, COMMUNE],
        )
        assert replacing.info.organ_ids == (FINANCE,)  # the commune never had the first
        await compose.send_issued(
            db,
            clock=sender.res.clock,
            blobs=sender.res.blobs,
            document=await db.get_one(Document, replacing_id),
            issuer=province,
            recipients=[Recipient(FINANCE, "Sở Tài chính")],
            clerk=await db.get_one(User, sender.clerk.id),
            seal=sender.seal,
            replacing=replacing,
        )
    return replacing_id


async def test_update_replace_and_recall_by_packet(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    sender, receiver = offices
    document_id = await issued_document(sender)
    await send(sender, document_id, FINANCE)
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    (first,) = await received(receiver)
    delivery = (await deliveries(sender, document_id))[FINANCE]

    # Updated before the Sở registered it: the new packet takes its place, 15 goes back alone.
    await _update(sender, document_id, delivery.id, "Bổ sung nơi nhận và sửa trích yếu.")
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    old, row = await received(receiver)
    assert old.id == first.id and old.state == ReceivedState.SUPERSEDED
    assert row.state == ReceivedState.PENDING and row.original_id == old.id
    assert row.business_type == 2 and row.match_key == old.match_key
    assert await run_queued(receiver, statuses.SEND_STATUS_JOB) == 2  # 01 (first), 15 (update)
    await poll(sender)
    after = (await deliveries(sender, document_id))[FINANCE]
    assert after.update_state == RecallState.ACCEPTED and after.status_code == "01"
    carrier = (await deliveries(sender, document_id, carriers=True))[FINANCE]
    assert carrier.about_id == delivery.id and carrier.state == DeliveryState.SENT
    registered = await _register(receiver, row.id)
    async with receiver.res.sessions() as db, db.begin():
        await assignments.assign(
            db,
            clock=receiver.res.clock,
            actor=Actor(await db.get_one(User, receiver.leader.id)),
            document=await db.get_one(Document, registered.id),
            plan=Plan(lead=Party(user_id=receiver.specialist.id), deadline=None),
        )

    # Updated after registration, from the tracking panel: the Sở's clerk sees "Yêu cầu cập
    # nhật" and agrees; the corrected file is a new version, the people handling it are told.
    await _corrected(sender, document_id)
    async with sender.app.client() as http:
        await sign_in_as(sender.app, browser_like(http), sender.clerk.id)
        path = f"/documents/{document_id}/axis/update"
        empty = await http.post(path, data={"delivery": str(delivery.id), "update_reason": ""})
        assert empty.status_code == 422
        panel = await http.post(
            path, data={"delivery": str(delivery.id), "update_reason": "Sửa số liệu phụ lục."}
        )
        assert panel.status_code == 200 and 'data-update="requested"' in panel.text
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    update = (await received(receiver))[-1]
    assert update.state == ReceivedState.UPDATE and update.original_id == row.id
    assert update.reason == "Sửa số liệu phụ lục."
    async with receiver.app.client() as http:
        await sign_in_as(receiver.app, browser_like(http), receiver.clerk.id)
        page = await http.get(f"/axis/inbox/{update.id}")
        assert "Yêu cầu cập nhật" in page.text and "Sửa số liệu phụ lục." in page.text
        assert f"/axis/inbox/{update.id}/update" in page.text
        listed = await http.get("/axis/inbox")
        assert "Yêu cầu cập nhật" in listed.text and f"/axis/inbox/{update.id}" in listed.text
    async with receiver.res.sessions() as db:
        assert [r.id for r in await updates.waiting(db, agency_id=receiver.agency.id)] == [
            update.id
        ]
    await _answer_update(receiver, update.id, accept=True, reason="")
    async with receiver.res.sessions() as db:
        document = await db.get_one(Document, registered.id)
        versions = [v.version for v in document.files[0].versions]
        notices = list(
            await db.scalars(select(PushOutbox).where(PushOutbox.user_id == receiver.specialist.id))
        )
    assert versions == [1, 2]  # the new file is a new version; the first is kept
    assert any("cập nhật" in str(n.payload) for n in notices)
    await _answers_reach(receiver, sender)
    assert (await deliveries(sender, document_id))[FINANCE].update_state == RecallState.ACCEPTED

    # A second update, refused with a reason; in the same poll an update forged by another
    # system naming this document, and a new document replacing it.
    await _update(sender, document_id, delivery.id, "Cập nhật lần hai.")
    # Forged by another system (the commune's), naming the province's document.
    await _raw_update(sender, document_id, organ_id=COMMUNE, system="00.55.W00")
    replacing_id = await _replacement(sender, document_id)
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    latest = (await received(receiver))[-3:]
    (second,) = [r for r in latest if r.business_type == 2 and r.sender_code == PROVINCE]
    (forged,) = [r for r in latest if r.sender_code == COMMUNE]
    (replacement,) = [r for r in latest if r.business_type == 3]
    assert second.state == ReceivedState.UPDATE and second.original_id == row.id
    # The forged one is not applied to the province's document: a new document from the commune.
    assert forged.state == ReceivedState.PENDING and forged.original_id is None
    assert replacement.state == ReceivedState.PENDING
    await _answer_update(
        receiver, second.id, accept=False, reason="Văn bản đã hoàn thành xử lý theo bản trước."
    )
    new = await _register(receiver, replacement.id)
    async with receiver.res.sessions() as db:
        replaced_row = await db.get_one(AxisReceived, row.id)
        assert replaced_row.replaced_by_id == replacement.id
        assert replaced_row.state == ReceivedState.REGISTERED  # marked, kept as it was
        old_links = await replacements.of_document(db, await db.get_one(Document, registered.id))
        new_links = await replacements.of_document(db, await db.get_one(Document, new.id))
        versions = [
            v.version for v in (await db.get_one(Document, registered.id)).files[0].versions
        ]
    assert [link.document_id for link in old_links.replaced_by] == [new.id]
    assert [link.document_id for link in new_links.replaces] == [registered.id]
    assert versions == [1, 2]  # neither the refused nor the forged update touched it
    async with receiver.app.client() as http:
        await sign_in_as(receiver.app, browser_like(http), receiver.clerk.id)
        page = await http.get(f"/documents/{registered.id}")
        assert "Đã bị thay thế" in page.text and f"/documents/{new.id}" in page.text
    await _answers_reach(receiver, sender)
    refused = (await deliveries(sender, document_id))[FINANCE]
    assert refused.update_state == RecallState.REFUSED
    assert refused.update_note == "Văn bản đã hoàn thành xử lý theo bản trước."
    async with sender.app.client() as http:
        await sign_in_as(sender.app, browser_like(http), sender.clerk.id)
        panel = await http.get(f"/documents/{document_id}/axis")
        assert "Từ chối cập nhật" in panel.text and "theo bản trước" in panel.text
        page = await http.get(f"/documents/{document_id}")
        assert "Đã bị thay thế" in page.text and f"/documents/{replacing_id}" in page.text

    # A recall as a BussinessDocType-1 packet, recorded as a 13 like the status would be:
    # refused (16), asked again, accepted (15).
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
                by_packet=True,
            )
        await run_queued(sender, statuses.SEND_STATUS_JOB)
        await poll(receiver)

    async def answer_recall(accept: bool, reason: str = "") -> None:
        async with receiver.res.sessions() as db, db.begin():
            await reception.answer_recall(
                db,
                clock=receiver.res.clock,
                clerk=await clerk_of(receiver, db),
                received_id=row.id,
                accept=accept,
                reason=reason,
            )
        await _answers_reach(receiver, sender)

    await recall("Văn bản có sai sót, đề nghị trả lại.")
    async with sender.res.sessions() as db:
        asked = await db.scalar(
            select(AxisStatusEvent).where(
                AxisStatusEvent.delivery_id == delivery.id, AxisStatusEvent.direction == "out"
            )
        )
    assert asked is not None and asked.code == "13" and asked.message_type == "edoc"
    assert asked.state == "sent"
    async with receiver.res.sessions() as db:
        (waiting,) = await reception.recalls(db, agency_id=receiver.agency.id)
        by_packet = await db.scalar(select(AxisReceived).where(AxisReceived.business_type == 1))
    assert waiting.id == row.id and waiting.reason == "Văn bản có sai sót, đề nghị trả lại."
    assert by_packet is not None and by_packet.state == ReceivedState.APPLIED
    await answer_recall(False, "Văn bản đã được giao xử lý.")
    refused = (await deliveries(sender, document_id))[FINANCE]
    assert refused.recall == RecallState.REFUSED
    assert refused.status_note == "Văn bản đã được giao xử lý."
    await recall("Ban hành sai thẩm quyền, đề nghị thu hồi.")  # available again after a 16
    await answer_recall(True)
    assert (await deliveries(sender, document_id))[FINANCE].recall == RecallState.ACCEPTED
    async with receiver.res.sessions() as db:
        assert (await db.get_one(Document, registered.id)).status == catalogue.Status.RECALLED

    # An update with no PDF in it is refused at once (16, the reason), not quarantined.
    await _raw_update(sender, document_id, organ_id=PROVINCE, system="00.53.W00", files=False)
    await poll(receiver)
    unreadable = (await received(receiver))[-1]
    assert unreadable.state == ReceivedState.DECLINED and unreadable.original_id == row.id
    async with receiver.res.sessions() as db:
        answer = await db.scalar(
            select(AxisStatusEvent).where(AxisStatusEvent.received_id == unreadable.id)
        )
    assert answer is not None and answer.code == "16"
    assert answer.description.startswith("Gói tin không có tệp PDF")


async def test_the_paper_copy_registered_first_is_offered_as_a_link_and_keeps_its_number(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    """The paper copy came first and has its số đến; the electronic one then arrives over the
    axis: registering it is refused as a duplicate with the offer to link it (as on the intake
    form), and linked it keeps the paper copy's number while 03 goes back to the sender."""
    sender, receiver = offices
    document_id = await issued_document(sender, number=31)
    await send(sender, document_id, FINANCE)
    await run_queued(sender, outbox.SEND_JOB)
    await poll(receiver)
    (row,) = await received(receiver)
    async with receiver.res.sessions() as db, db.begin():
        packet = await reception.packet_of(receiver.res.blobs, row, max_bytes=50 * MiB)
        clerk = await db.get_one(User, receiver.clerk.id)
        paper = await register_incoming(
            db,
            clock=receiver.res.clock,
            blobs=receiver.res.blobs,
            workers=receiver.res.pdf_workers,
            registrar=Registrar.clerk(clerk),
            form=reception.incoming_form(packet),
            pdfs=[Upload("ban-giay.pdf", "application/pdf", make_sample_pdf(pages=1))],
            scans=[],
            limits=Limits(max_bytes=50 * MiB),
            checker=receiver.res.signature_checker,
        )
    path = f"/axis/inbox/{row.id}/register"
    async with receiver.app.client() as http:
        await sign_in_as(receiver.app, browser_like(http), receiver.clerk.id)
        refused = await http.post(path)
        assert refused.status_code == 409
        offer = BeautifulSoup(refused.text, "html.parser").select_one(
            f'form[action="{path}"] input[name="link_to"]'
        )
        assert offer is not None and offer["value"] == str(paper.id)
        assert f"số đến {paper.register_number}" in refused.text
        linked = await http.post(path, data={"link_to": str(paper.id)})
        assert linked.status_code == 303
    async with receiver.res.sessions() as db:
        taken = await db.get_one(AxisReceived, row.id)
        assert taken.state == ReceivedState.REGISTERED and taken.document_id is not None
        copy = await db.get_one(Document, taken.document_id)
    assert copy.duplicate_of_id == paper.id
    assert copy.register_number == paper.register_number
    assert await run_queued(receiver, statuses.SEND_STATUS_JOB) >= 1
    await poll(sender)
    assert (await deliveries(sender, document_id))[FINANCE].status_code == "03"


async def test_our_agencies_are_registered_on_the_axis_parents_first(
    offices: tuple[Office, Office], axis: AxisSimProcess
) -> None:
    sender, _ = offices
    health = "000.00.07.H53"
    async with sender.res.sessions() as db, db.begin():
        province = await db.scalar(select(Agency).where(Agency.code == PROVINCE))
        for code, name in ((health, "Sở Y tế tỉnh Tây Ninh"), (FINANCE, "Sở Tài chính (nhầm)")):
            # The second holds a code another system registered: refused, the rest go on.
            await create_agency(
                db, clock=sender.res.clock, code=code, name=name, short_name="S", parent=province
            )
    async with connection.client(sender.res.settings) as client:
        with pytest.raises(AxisRefusedError):  # not on the axis yet: cannot send
            await client.send_edoc(
                from_code=health, message_type="edoc", data=b"<x/>", to=[FINANCE]
            )
        async with sender.res.sessions() as db, db.begin():
            outcomes = await registration.register(
                db,
                clock=sender.res.clock,
                axis=client,
                system_id=SYSTEMS["province"],
                agencies=await registration.hosted(db),
            )
        directory = {a.code: a for a in await client.agencies()}
    by_code = {o.code: o for o in outcomes}
    assert outcomes[0].code == PROVINCE and by_code[PROVINCE].parent_code == SYSTEMS["province"]
    assert by_code[OFFICE].parent_code == PROVINCE and not by_code[OFFICE].error
    assert by_code[health].parent_code == PROVINCE and not by_code[health].error
    assert by_code[FINANCE].error  # the axis' reason, shown to the administrator
    assert directory[health].name == "Sở Y tế tỉnh Tây Ninh"
    assert directory[health].pid == directory[PROVINCE].id
    assert directory[FINANCE].name == "Sở Tài chính"  # another system's entry is untouched
    async with sender.res.sessions() as db:
        with pytest.raises(ValidationError):
            await registration.hosted(db, ["000.00.99.H53"])
        actions = list(
            await db.scalars(
                select(AuditEntry.object_id).where(AuditEntry.action == "axis.agency_registered")
            )
        )
    assert len(actions) == 3  # the province, its office, the Sở Y tế
