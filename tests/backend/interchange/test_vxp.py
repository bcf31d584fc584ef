"""The VXP client against `eoffice axis-sim` running as a real process: the whole exchange, the
refusals, every fault hook seen through the client, and the bytes on the wire.
The last part classifies transport failures with httpx.MockTransport (no process needed)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.core.clock import VIETNAM
from backend.interchange import xroad
from backend.interchange.errors import (
    AxisOutcomeUnknownError,
    AxisRefusedError,
    AxisUnavailableError,
    InterchangeError,
)
from backend.interchange.vxp import VxpClient
from tests.support.axis_sim import AxisSimProcess, write_config

pytestmark = pytest.mark.anyio

SAMPLES = Path(__file__).parent / "samples"
EDOC = (SAMPLES / "edoc_update.edxml").read_bytes()  # From G22; To H41, H14, G17
STATUS = (SAMPLES / "status_processing_05.edxml").read_bytes()  # From H41; ResponseFor G22
A, B, C = "01.22.W00", "00.41.W00", "00.27.W00"
SECRETS = {system: secrets.token_urlsafe(24) for system in (A, B, C)}
G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
NEW_UNIT = "000.00.05.G22"
SUBJECT = "V/v kết nối, liên thông phần mềm quản lý văn bản"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AxisSimProcess]:
    directory = tmp_path_factory.mktemp("axis")
    config = write_config(
        directory / "axis.json",
        {
            "systems": SECRETS,
            "registered": {A: [G22], B: [H41, H14], C: [G17]},
            "directory": [
                {"code": G22, "name": "Văn phòng Chính phủ"},
                {"code": H41, "name": "Ủy ban nhân dân tỉnh Nghệ An"},
                {"code": H14, "name": "Ủy ban nhân dân tỉnh Cao Bằng"},
                {"code": G17, "name": "Sở Thông tin và Truyền thông Hải Phòng"},
            ],
            "directory_size": 300,
        },
    )
    process = AxisSimProcess(directory, "--config", str(config)).start()
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def fresh(sim: AxisSimProcess) -> Iterator[None]:
    sim.hook("/_sim/reset", {})
    yield
    sim.hook("/_sim/reset", {})  # also ends a commit-then-timeout wait under way


def client(sim: AxisSimProcess, system_id: str, **kwargs: Any) -> VxpClient:
    kwargs.setdefault("secret", SECRETS[system_id])
    return VxpClient(base_url=sim.api_url, system_id=system_id, **kwargs)


@pytest.fixture
async def clients(sim: AxisSimProcess) -> AsyncIterator[tuple[VxpClient, VxpClient, VxpClient]]:
    a, b, c = client(sim, A), client(sim, B), client(sim, C)
    yield a, b, c
    for each in (a, b, c):
        await each.aclose()


def window() -> dict[str, datetime]:
    now = datetime.now(VIETNAM)
    return {"since": now - timedelta(minutes=5), "until": now + timedelta(minutes=5)}


# --- the exchange ----------------------------------------------------------------------------


async def test_register_send_to_two_systems_fetch_ack_and_answer_with_a_status(
    clients: tuple[VxpClient, VxpClient, VxpClient],
) -> None:
    a, b, c = clients
    with pytest.raises(AxisRefusedError):  # not registered yet
        await a.send_edoc(from_code=NEW_UNIT, message_type="edoc", data=EDOC, to=[H41])
    assert NEW_UNIT not in {agency.code for agency in await a.agencies()}

    await a.register_agency(
        code=NEW_UNIT, parent_code=G22, name="Vụ Tổng hợp - Văn phòng Chính phủ", mail="vth@vpcp"
    )
    directory = {agency.code: agency for agency in await a.agencies()}
    assert directory[NEW_UNIT].name == "Vụ Tổng hợp - Văn phòng Chính phủ"
    assert directory[NEW_UNIT].pid == directory[G22].id
    assert directory[G22].name == "Văn phòng Chính phủ"

    doc_id = await a.send_edoc(from_code=NEW_UNIT, message_type="edoc", data=EDOC, to=[H41, G17])
    assert len(doc_id) == 24 and int(doc_id, 16) >= 0

    [at_b] = await b.received(message_type="edoc")
    [at_c] = await c.received(message_type="edoc")
    assert (at_b.from_code, at_b.to_code, at_b.message_type, at_b.status) == (
        NEW_UNIT,
        H41,
        "edoc",
        "initial",
    )
    assert at_c.to_code == G17
    assert at_b.created_time is not None
    assert abs(at_b.created_time - datetime.now(VIETNAM)) < timedelta(minutes=5)
    assert len({doc_id, at_b.doc_id, at_c.doc_id}) == 3  # one knobstick per recipient
    assert await b.get_edoc(at_b.doc_id) == EDOC
    assert await c.get_edoc(at_c.doc_id) == EDOC
    assert await b.received(message_type="status") == []

    await b.update_status(at_b.doc_id, "done", "Đã lưu vào hệ thống")
    assert await b.received(message_type="edoc") == []
    assert [r.doc_id for r in await c.received(message_type="edoc")] == [at_c.doc_id]

    rows = {row.to_code: row for row in await a.sent(message_type="edoc", **window())}
    assert set(rows) == {H41, G17}
    assert {row.sender_doc_id for row in rows.values()} == {doc_id}
    assert rows[H41].receiver_doc_id == at_b.doc_id and rows[G17].receiver_doc_id == at_c.doc_id
    assert rows[H41].receive_status == "done" and rows[H41].received_time is not None
    assert rows[G17].receive_status == "initial" and rows[G17].received_time is None
    assert rows[H41].send_status == "done" and rows[H41].from_code == NEW_UNIT
    assert rows[H41].notation == "7816/VPCP-TTĐT" and rows[H41].title == SUBJECT
    assert await a.sent(message_type="status", **window()) == []

    # The answer: a status packet, routed by its ResponseFor/OrganId back to G22.
    status_id = await b.send_edoc(from_code=H41, message_type="status", data=STATUS)
    assert await a.received(message_type="edoc") == []
    [answer] = await a.received(message_type="status")
    assert (answer.from_code, answer.to_code, answer.message_type) == (H41, G22, "status")
    assert await a.get_edoc(answer.doc_id) == STATUS
    await a.update_status(answer.doc_id, "done")
    [back] = await b.sent(message_type="status", **window())
    assert back.sender_doc_id == status_id and back.receive_status == "done"


async def test_without_a_to_header_the_packets_own_recipients_are_used(
    clients: tuple[VxpClient, VxpClient, VxpClient],
) -> None:
    a, b, c = clients
    await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC)
    assert sorted(r.to_code for r in await b.received(message_type="edoc")) == [H14, H41]
    assert [r.to_code for r in await c.received(message_type="edoc")] == [G17]


async def test_sent_honours_its_time_window(
    clients: tuple[VxpClient, VxpClient, VxpClient],
) -> None:
    a, _, _ = clients
    await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    past = datetime.now(VIETNAM) - timedelta(days=2)
    assert await a.sent(message_type="edoc", since=past, until=past + timedelta(days=1)) == []
    assert len(await a.sent(message_type="edoc", **window())) == 1


async def test_directory_delta_after_a_change_elsewhere(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    a, _, _ = clients
    first = await a.synchronize_units()
    assert {G22, H41, H14, G17} <= {unit.code for unit in first}
    assert len(first) == len(await a.agencies()) >= 300
    assert await a.synchronize_units() == []
    await sim.ahook(
        "/_sim/directory",
        {
            "upsert": [{"code": "000.00.07.H41", "name": "Sở Y tế tỉnh Nghệ An", "parent": H41}],
            "delete": [H14],
        },
    )
    delta = {unit.code: unit for unit in await a.synchronize_units()}
    assert set(delta) == {"000.00.07.H41", H14}
    assert delta[H14].deleted and not delta["000.00.07.H41"].deleted
    assert delta["000.00.07.H41"].version > max(unit.version for unit in first)
    assert delta["000.00.07.H41"].modify_date is not None
    assert H14 not in {agency.code for agency in await a.agencies()}


# --- refusals --------------------------------------------------------------------------------


async def test_a_wrong_secret_is_refused(sim: AxisSimProcess) -> None:
    async with client(sim, B, secret="not-the-secret") as b:
        with pytest.raises(AxisRefusedError) as refused:
            await b.received(message_type="edoc")
    assert refused.value.error_code == "-3"
    assert "xac thuc" in refused.value.error_desc.lower()
    assert "khóa bí mật" in refused.value.message_vi
    assert not refused.value.retryable


class Tamper(httpx.AsyncBaseTransport):
    """Changes one header after the client signed the request."""

    def __init__(self, name: str, edit: Any) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.name = name
        self.edit = edit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers[self.name] = self.edit(request.headers[self.name])
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(
    ("header", "edit", "code"),
    [
        # The signed JSON itself altered: the HMAC no longer matches.
        ("XroadVnpt-sign-header", lambda v: v.replace('"eDoc"', '"eDocs"'), "-3"),
        # A signed field's own header altered: it no longer matches the signed JSON.
        ("XroadVnpt-from", lambda v: H41, "-4"),
    ],
    ids=["sign-header", "from-header"],
)
async def test_a_tampered_request_is_refused_and_nothing_is_stored(
    sim: AxisSimProcess, header: str, edit: Any, code: str
) -> None:
    async with client(sim, A, transport=Tamper(header, edit)) as a:
        with pytest.raises(AxisRefusedError) as refused:
            await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    assert refused.value.error_code == code
    assert await sim.ahook("/_sim/sends") == []


async def test_a_from_not_registered_under_our_system_is_refused_with_the_axis_words(
    clients: tuple[VxpClient, VxpClient, VxpClient],
) -> None:
    a, _, _ = clients
    with pytest.raises(AxisRefusedError) as refused:
        await a.send_edoc(from_code=H41, message_type="edoc", data=EDOC, to=[G17])
    error = refused.value
    assert error.error_desc == f"Don vi gui {H41} khong dung voi ma da dang ky: {A}"
    assert not error.retryable
    assert f"mã định danh đơn vị gửi {H41} chưa được đăng ký" in error.message_vi
    assert f"mã hệ thống {A}" in error.message_vi
    assert "not registered" in error.message_en


async def test_a_packet_that_is_not_xml_is_refused(
    clients: tuple[VxpClient, VxpClient, VxpClient],
) -> None:
    a, _, _ = clients
    with pytest.raises(AxisRefusedError) as refused:
        await a.send_edoc(from_code=G22, message_type="edoc", data=b"%PDF-1.7 not xml", to=[H41])
    assert refused.value.error_desc == "VXP Server yeu cau file .edxml hop le"
    assert "edXML hợp lệ" in refused.value.message_vi


# --- faults, seen through the client ---------------------------------------------------------


async def test_axis_down_then_back(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    a, b, _ = clients
    await sim.ahook("/_sim/down", {"down": True})
    with pytest.raises(AxisUnavailableError) as down:
        await b.received(message_type="edoc")
    assert down.value.retryable and "HTTP 503" in down.value.message_en
    with pytest.raises(AxisUnavailableError):  # refused at the door: certainly not stored
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    await sim.ahook("/_sim/down", {"down": False})
    assert await b.received(message_type="edoc") == []
    assert await sim.ahook("/_sim/sends") == []


async def test_the_next_calls_of_one_path_fail_with_http_500(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    _, b, _ = clients
    await sim.ahook("/_sim/fail", {"count": 2, "path": "getReceivedEdocList"})
    for _ in range(2):
        with pytest.raises(AxisUnavailableError, match="HTTP 500"):
            await b.received(message_type="edoc")
        assert await b.agencies()  # other paths unaffected
    assert await b.received(message_type="edoc") == []


async def test_a_slow_axis_times_the_client_out_then_recovers(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    _, b, _ = clients
    await sim.ahook("/_sim/slow", {"seconds": 60})
    async with client(sim, B, timeout=1.0) as hurried:
        with pytest.raises(AxisUnavailableError, match="ReadTimeout"):
            await hurried.received(message_type="edoc")
    await sim.ahook("/_sim/slow", {"seconds": 0})  # also ends the wait under way
    assert await b.received(message_type="edoc") == []


async def test_a_duplicated_delivery_gives_two_knobsticks_with_the_same_bytes(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    a, b, _ = clients
    await sim.ahook("/_sim/duplicate", {"count": 1})
    await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    first, second = await b.received(message_type="edoc")
    assert first.doc_id != second.doc_id
    assert await b.get_edoc(first.doc_id) == await b.get_edoc(second.doc_id) == EDOC
    sticks = await sim.ahook("/_sim/knobsticks")
    assert [s["copyOf"] for s in sticks] == [None, first.doc_id]
    assert {s["sha256"] for s in sticks} == {hashlib.sha256(EDOC).hexdigest()}
    await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])  # once only
    assert len(await b.received(message_type="edoc")) == 3


async def test_a_vanished_packet_is_acknowledged_but_never_delivered(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    a, b, _ = clients
    await sim.ahook("/_sim/vanish", {"count": 1})
    doc_id = await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    assert await b.received(message_type="edoc") == []
    assert await a.sent(message_type="edoc", **window()) == []
    [send] = await sim.ahook("/_sim/sends")
    assert (send["senderDocId"], send["fate"], send["knobsticks"]) == (doc_id, "vanished", [])


async def test_commit_then_timeout_is_an_unknown_outcome_and_sent_shows_the_delivery(
    sim: AxisSimProcess, clients: tuple[VxpClient, VxpClient, VxpClient]
) -> None:
    a, b, _ = clients
    await sim.ahook("/_sim/commit-then-timeout", {"count": 1, "seconds": 120})
    async with client(sim, A, timeout=3.0) as hurried:
        with pytest.raises(AxisOutcomeUnknownError) as unknown:
            await hurried.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    assert unknown.value.retryable
    assert not isinstance(unknown.value, AxisUnavailableError)  # no blind retry
    # What the caller must do before resending: look in the sent list.
    [row] = await a.sent(message_type="edoc", **window())
    assert (row.to_code, row.notation, row.title) == (H41, "7816/VPCP-TTĐT", SUBJECT)
    [delivered] = await b.received(message_type="edoc")
    assert delivered.doc_id == row.receiver_doc_id


# --- the bytes on the wire -------------------------------------------------------------------


def payload_with_a_small_digest_byte() -> bytes:
    """EDOC plus a comment, chosen so that its SHA-256 has a byte below 0x10 (the SDK writes
    it with one hex digit)."""
    for n in range(1000):
        data = EDOC + f"<!-- {n} -->".encode()
        if any(b < 0x10 for b in hashlib.sha256(data).digest()):
            return data
    raise AssertionError("unreachable")


async def test_headers_and_bodies_are_exactly_what_the_sdk_sends(sim: AxisSimProcess) -> None:
    moment = datetime(2026, 12, 4, 0, 14, 23, 136_999, tzinfo=VIETNAM)
    data = payload_with_a_small_digest_byte()
    async with client(sim, A, clock=lambda: moment) as a:
        assert a.timestamp == "04122026T001423+0136"
        doc_id = await a.send_edoc(from_code=G22, message_type="edoc", data=data)
        await a.received(message_type="status")
        with pytest.raises(AxisRefusedError):  # not ours to fetch: still a signed call
            await a.get_edoc(doc_id)
    send, listing, fetch = (await sim.ahook("/_sim/requests"))[-3:]

    hash_file = "".join(format(b, "x") for b in hashlib.sha256(data).digest())
    assert len(hash_file) < 64 and hash_file != hashlib.sha256(data).hexdigest()
    expected = xroad.signed_headers(
        system_id=A,
        secret=SECRETS[A],
        timestamp="04122026T001423+0136",
        content_type="application/octet-stream",
        params=[
            ("from", G22),
            ("servicetype", "eDoc"),
            ("messagetype", "edoc"),
            ("hash-file", hash_file),
        ],
        sdk_order=True,
    )
    wire = [(name, value) for name, value in send["headers"]]
    sent = {name: value for name, value in wire if name in {n.lower() for n in expected}}
    assert sent == {name.lower(): value for name, value in expected.items()}
    in_order = [name for name, _ in wire if name.startswith("xroadvnpt-")]
    assert in_order == [name.lower() for name in expected if name.startswith("XroadVnpt-")]
    assert sent["xroadvnpt-sign-header-key"] == (
        "systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type"
    )  # the order of the SDK capture in the reference README (§6.2)
    assert sent["xroadvnpt-hash-file"] == hash_file
    assert send["body_length"] == len(data) + 2
    assert send["body_sha256"] == hashlib.sha256(data + b"\r\n").hexdigest()

    assert (listing["path"], listing["body_length"]) == ("getReceivedEdocList", 0)
    assert (fetch["path"], fetch["body_length"]) == ("getEdoc", 2)  # "{}"
    listing_headers = dict(listing["headers"])
    assert listing_headers["content-type"] == "application/json"
    assert listing_headers["xroadvnpt-timestamp"] == "04122026T001423+0136"  # once per client
    assert listing_headers["user-agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"
    assert dict(fetch["headers"])["xroadvnpt-sign-header-key"] == (
        "systemid;docId;timestamp;Content-Type"
    )


# --- classification of what comes back, without a simulator --------------------------------


def mock(handler: Any) -> VxpClient:
    return VxpClient(
        base_url="http://axis.test/XrdAdapter/adapter",
        system_id=A,
        secret="s",
        transport=httpx.MockTransport(handler),
    )


def answer(status: int, body: object) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return handler


def raising(exc: type[httpx.TransportError]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


@pytest.mark.parametrize(
    ("handler", "on_send", "on_list"),
    [
        (raising(httpx.ConnectError), AxisUnavailableError, AxisUnavailableError),
        (raising(httpx.ConnectTimeout), AxisUnavailableError, AxisUnavailableError),
        (raising(httpx.ReadTimeout), AxisOutcomeUnknownError, AxisUnavailableError),
        (raising(httpx.RemoteProtocolError), AxisOutcomeUnknownError, AxisUnavailableError),
        (answer(500, b"oops"), AxisUnavailableError, AxisUnavailableError),
        (answer(503, {"status": "FAIL"}), AxisUnavailableError, AxisUnavailableError),
        (answer(504, b""), AxisOutcomeUnknownError, AxisUnavailableError),
        (answer(200, b"<html>proxy</html>"), AxisOutcomeUnknownError, AxisUnavailableError),
        (answer(200, {"status": "OK"}), AxisOutcomeUnknownError, None),  # no DocId
        (answer(404, b"<html>Not Found</html>"), AxisRefusedError, AxisRefusedError),
        (
            answer(200, {"status": "FAIL", "ErrorCode": "9", "ErrorDesc": "Loi"}),
            AxisRefusedError,
            AxisRefusedError,
        ),
    ],
    ids=[
        "connect",
        "connect-timeout",
        "read-timeout",
        "disconnect",
        "500",
        "503",
        "504",
        "not-json",
        "no-docid",
        "404",
        "fail",
    ],
)
async def test_failures_are_classified(
    handler: Any, on_send: type[InterchangeError], on_list: type[InterchangeError] | None
) -> None:
    async with mock(handler) as axis:
        with pytest.raises(on_send):
            await axis.send_edoc(from_code=G22, message_type="edoc", data=EDOC)
        if on_list is None:
            assert await axis.received(message_type="edoc") == []
        else:
            with pytest.raises(on_list):
                await axis.received(message_type="edoc")


async def test_an_unknown_refusal_keeps_the_axis_words() -> None:
    body = {"status": "FAIL", "ErrorCode": "E42", "ErrorDesc": "Loi khong xac dinh"}
    async with mock(answer(200, body)) as axis:
        with pytest.raises(AxisRefusedError) as refused:
            await axis.update_status("abc", "done")
    assert (refused.value.error_code, refused.value.error_desc) == ("E42", "Loi khong xac dinh")
    assert "E42: Loi khong xac dinh" in refused.value.message_vi
    assert refused.value.message_vi.startswith("Trục liên thông từ chối yêu cầu updateStatus")


async def test_undecodable_packet_data_is_a_retryable_failure() -> None:
    async with mock(answer(200, {"status": "OK", "data": "@@not base64@@"})) as axis:
        with pytest.raises(AxisUnavailableError):
            await axis.get_edoc("abc")


async def test_times_and_flags_are_read_leniently() -> None:
    rows = [
        {"docId": "1", "created_time": "04/12/2026 08:15:00"},
        {"docId": "2", "created_time": "2026-12-04 08:15:00"},
        {"docId": "3", "created_time": "2026-12-04T01:15:00Z"},
        {"docId": "4", "created_time": 1796346900000},  # epoch ms of 2026-12-04 01:15 UTC
        {"docId": "5", "created_time": "not a time"},
        {"docId": "6"},
    ]
    async with mock(answer(200, {"status": "OK", "data": rows})) as axis:
        found = await axis.received(message_type="edoc")
    moment = datetime(2026, 12, 4, 8, 15, tzinfo=VIETNAM)
    assert [r.created_time for r in found] == [moment, moment, moment, moment, None, None]
    assert [r.message_type for r in found] == ["edoc"] * 6

    unit = {"id": 7, "pid": 0, "code": "X", "version": "3", "deleted": "1", "isAgency": 0}
    async with mock(answer(200, {"status": "OK", "data": [unit, {"code": "Y"}]})) as axis:
        first, second = await axis.synchronize_units()
    assert (first.id, first.pid, first.version, first.deleted, first.is_agency) == (
        "7",
        "0",
        3,
        True,
        False,
    )
    assert (second.version, second.deleted, second.is_agency) == (0, False, None)


async def test_list_windows_are_sent_in_vietnam_time() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "OK", "data": []})

    async with mock(handler) as axis:
        since = datetime(2026, 12, 3, 17, 0, tzinfo=VIETNAM)
        await axis.sent(message_type="status", since=since, until=since.replace(tzinfo=None))
    signed = json.loads(seen[0].headers["XroadVnpt-sign-header"])
    assert signed["XroadVnpt-fromDate"] == "03/12/2026 17:00:00"
    assert signed["XroadVnpt-toDate"] == "04/12/2026 00:00:00"  # naive means UTC
    assert seen[0].content == b""
