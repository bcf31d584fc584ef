"""The axis simulator in process (httpx.ASGITransport): what it accepts the way the real axis
must (stale timestamps, leaked headers, `docid`, multipart, the CRLF and hash quirks), what it
refuses and how, routing, registrations, the directory and its delta, the hooks' reset."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from backend.axis_sim import AxisSimConfig, DirectorySeed, create_app
from backend.interchange import xroad
from backend.interchange.errors import AxisRefusedError
from backend.interchange.vxp import VxpClient

pytestmark = pytest.mark.anyio

SAMPLES = Path(__file__).parents[1] / "backend" / "interchange" / "samples"
EDOC = (SAMPLES / "edoc_update.edxml").read_bytes()  # From G22; To H41, H14, G17
STATUS = (SAMPLES / "status_processing_05.edxml").read_bytes()  # ResponseFor G22
A, B = "01.22.W00", "00.41.W00"
SECRETS = {A: "secret-a", B: "secret-b"}
G22, H41, H14, G17 = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
BASE = "/XrdAdapter/adapter"
TIMESTAMP = "01012019T000000+0000"  # years old: the axis does not check freshness


def make_config(**overrides: Any) -> AxisSimConfig:
    values: dict[str, Any] = {
        "systems": SECRETS,
        "registered": {A: [G22], B: [H41, H14, G17]},
        "directory": [
            DirectorySeed(G22, "Văn phòng Chính phủ"),
            DirectorySeed(H41, "Ủy ban nhân dân tỉnh Nghệ An"),
        ],
    }
    values.update(overrides)
    return AxisSimConfig(**values)


@pytest.fixture
def app() -> Starlette:
    return create_app(make_config())


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://axis"
    ) as client:
        yield client


def vxp(app: Starlette, system_id: str = A) -> VxpClient:
    return VxpClient(
        base_url="http://axis" + BASE,
        system_id=system_id,
        secret=SECRETS[system_id],
        transport=httpx.ASGITransport(app=app),
    )


def signed(
    params: list[tuple[str, str]],
    *,
    system_id: str = A,
    content_type: str = "application/json",
    secret: str | None = None,
) -> dict[str, str]:
    return xroad.signed_headers(
        system_id=system_id,
        secret=secret or SECRETS[system_id],
        timestamp=TIMESTAMP,
        content_type=content_type,
        params=params,
    )


def send_params(
    data: bytes, *, to: list[str] | None = None, hash_file: str | None = None
) -> list[tuple[str, str]]:
    params = [("from", G22), ("servicetype", "eDoc"), ("messagetype", "edoc")]
    if to is not None:
        params.append(("to", json.dumps(to)))
    params.append(("hash-file", xroad.hash_file(data) if hash_file is None else hash_file))
    return params


async def call(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], content: bytes = b"", **kw: Any
) -> dict[str, Any]:
    response = await http.post(f"{BASE}/{path}", headers=headers, content=content, **kw)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def fails(body: dict[str, Any], code: str) -> bool:
    return body["status"] == "FAIL" and body["ErrorCode"] == code and body["ErrorDesc"].isascii()


# --- authentication --------------------------------------------------------------------------


async def test_a_stale_timestamp_leaked_headers_and_lower_case_docid_are_accepted(
    app: Starlette, http: httpx.AsyncClient
) -> None:
    async with vxp(app) as a:
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    [stick] = await vxp(app, B).received(message_type="edoc")
    headers = signed([("status", "done"), ("docid", stick.doc_id)], system_id=B)
    headers["XroadVnpt-servicetype"] = "eDoc"  # left over from the previous call, unsigned
    headers["XroadVnpt-filePath"] = "/tmp/vxp"
    headers["X-Forwarded-For"] = "10.0.0.1"
    assert (await call(http, "updateStatus", headers, b"{}"))["status"] == "OK"
    assert await vxp(app, B).received(message_type="edoc") == []


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "-1"),
        (signed([], system_id="99.99.W00", secret="x"), "-2"),
        (signed([], secret="wrong"), "-3"),
        ({**signed([]), "XroadVnpt-systemid": B}, "-4"),
        ({**signed([]), "XroadVnpt-timestamp": "02012019T000000+0000"}, "-4"),
    ],
    ids=["no-headers", "unknown-system", "wrong-secret", "systemid-header", "timestamp-header"],
)
async def test_authentication_failures_answer_fail(
    http: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    body = await call(http, "getAgenciesList", headers)
    assert fails(body, code), body
    assert "xac thuc" in body["ErrorDesc"].lower()


async def test_a_vietnamese_description_travels_in_utf8_headers(app: Starlette) -> None:
    async with vxp(app) as a:
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    async with vxp(app, B) as b:
        [stick] = await b.received(message_type="edoc")
        await b.update_status(stick.doc_id, "fail", "Không đọc được tệp đính kèm")
    assert app.state.axis.knobsticks[stick.doc_id].description == "Không đọc được tệp đính kèm"
    assert app.state.axis.knobsticks[stick.doc_id].status == "fail"


# --- uploads ---------------------------------------------------------------------------------


async def test_multipart_upload_with_a_file_doc_part(
    app: Starlette, http: httpx.AsyncClient
) -> None:
    headers = signed(send_params(EDOC, to=[H41]), content_type="application/octet-stream")
    response = await http.post(
        f"{BASE}/sendEdoc",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
        files={"file_doc": ("edoc.edxml", EDOC, "application/xml")},
    )
    assert response.json()["status"] == "OK"
    [stick] = app.state.axis.knobsticks.values()
    assert stick.data == EDOC


@pytest.mark.parametrize("suffix", [b"\r\n", b""], ids=["sdk-crlf", "bare"])
async def test_raw_upload_with_or_without_the_sdk_crlf(
    app: Starlette, http: httpx.AsyncClient, suffix: bytes
) -> None:
    headers = signed(send_params(EDOC, to=[H41]), content_type="application/octet-stream")
    assert (await call(http, "sendEdoc", headers, EDOC + suffix))["status"] == "OK"
    [stick] = app.state.axis.knobsticks.values()
    assert stick.data == EDOC


@pytest.mark.parametrize(
    ("hash_file", "strict", "accepted"),
    [
        (hashlib.sha256(EDOC).hexdigest(), True, False),  # zero-padded: not what the SDK sends
        (hashlib.sha256(EDOC).hexdigest(), False, True),
        ("", True, False),
        ("", False, True),
        (xroad.hash_file(b"other"), False, False),
    ],
    ids=["padded-strict", "padded-lenient", "none-strict", "none-lenient", "wrong"],
)
async def test_hash_file_checks(hash_file: str, strict: bool, accepted: bool) -> None:
    data = EDOC
    assert hashlib.sha256(data).hexdigest() != xroad.hash_file(data)  # the sample has a 0x0_ byte
    app = create_app(make_config(strict_hash_file=strict))
    params = [
        p for p in send_params(data, to=[H41], hash_file=hash_file) if p[1] or p[0] != "hash-file"
    ]
    headers = signed(params, content_type="application/octet-stream")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://axis"
    ) as http:
        body = await call(http, "sendEdoc", headers, data + b"\r\n")
    assert (body["status"] == "OK") is accepted
    if not accepted:
        assert fails(body, "-5")
    assert len(app.state.axis.knobsticks) == (1 if accepted else 0)


@pytest.mark.parametrize(
    "data",
    [
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
    ids=["not-xml", "xxe"],
)
async def test_a_packet_that_is_not_acceptable_xml_is_refused(
    app: Starlette, http: httpx.AsyncClient, data: bytes
) -> None:
    headers = signed(send_params(data, to=[H41]), content_type="application/octet-stream")
    body = await call(http, "sendEdoc", headers, data + b"\r\n")
    assert body == {
        "status": "FAIL",
        "ErrorCode": "-7",
        "ErrorDesc": "VXP Server yeu cau file .edxml hop le",
    }
    assert app.state.axis.sends == {}


# --- routing ---------------------------------------------------------------------------------


async def test_an_unknown_recipient_refuses_the_whole_packet(app: Starlette) -> None:
    async with vxp(app) as a:
        with pytest.raises(AxisRefusedError) as refused:
            await a.send_edoc(
                from_code=G22, message_type="edoc", data=EDOC, to=[H41, "000.00.00.H01"]
            )
    assert refused.value.error_desc == "Don vi nhan 000.00.00.H01 chua dang ky tren truc lien thong"
    assert "đơn vị nhận" in refused.value.message_vi
    assert app.state.axis.knobsticks == {}


async def test_an_invalid_to_header_is_refused(http: httpx.AsyncClient) -> None:
    params = [
        ("from", G22),
        ("servicetype", "eDoc"),
        ("messagetype", "edoc"),
        ("to", "H41"),
        ("hash-file", xroad.hash_file(EDOC)),
    ]
    body = await call(
        http, "sendEdoc", signed(params, content_type="application/octet-stream"), EDOC
    )
    assert fails(body, "-10")


async def test_a_status_packet_sent_as_edoc_is_routed_by_its_response_for(app: Starlette) -> None:
    # README §7 pitfall 17: some peers send status packets with messagetype=edoc.
    async with vxp(app, B) as b:
        await b.send_edoc(from_code=H41, message_type="edoc", data=STATUS)
    async with vxp(app) as a:
        [stick] = await a.received(message_type="edoc")
    assert (stick.from_code, stick.to_code) == (H41, G22)


async def test_an_edoc_is_not_listed_as_status_nor_fetchable_by_another_system(
    app: Starlette,
) -> None:
    async with vxp(app) as a:
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
        assert await vxp(app, B).received(message_type="status") == []
        [stick] = await vxp(app, B).received(message_type="edoc")
        with pytest.raises(AxisRefusedError) as refused:
            await a.get_edoc(stick.doc_id)
    assert refused.value.error_code == "-9"


async def test_download_and_count_are_get_requests(app: Starlette, http: httpx.AsyncClient) -> None:
    async with vxp(app) as a:
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41, H14])
    count = await http.get(f"{BASE}/countReceiveEdoc", headers=signed([], system_id=B))
    assert count.json()["count"] == 2
    none = await http.get(f"{BASE}/countReceiveStatus", headers=signed([], system_id=B))
    assert none.json()["count"] == 0
    [first, _] = await vxp(app, B).received(message_type="edoc")
    download = await http.get(
        f"{BASE}/downloadEdoc", headers=signed([("docId", first.doc_id)], system_id=B)
    )
    assert download.content == EDOC
    fetched = await call(
        http, "getEdoc", signed([("filePath", "xml"), ("docId", first.doc_id)], system_id=B), b"{}"
    )
    assert base64.b64decode(fetched["data"]) == EDOC


async def test_acknowledging_with_an_unknown_status_is_refused(app: Starlette) -> None:
    async with vxp(app) as a:
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    async with vxp(app, B) as b:
        [stick] = await b.received(message_type="edoc")
        with pytest.raises(AxisRefusedError):
            await b.update_status(stick.doc_id, "read")  # type: ignore[arg-type]
        await b.update_status(stick.doc_id, "processing")
        assert [r.status for r in await b.received(message_type="edoc")] == ["processing"]


# --- registrations and the directory ---------------------------------------------------------


async def test_register_then_delete_an_agency(app: Starlette, http: httpx.AsyncClient) -> None:
    unit = "000.00.05.G22"
    async with vxp(app) as a:
        await a.register_agency(code=unit, parent_code=A, name="Vụ Tổng hợp")
        await a.send_edoc(from_code=unit, message_type="edoc", data=EDOC, to=[H41])
        assert (await call(http, "deleteAgency", signed([("AgencyCode", unit)])))["status"] == "OK"
        with pytest.raises(AxisRefusedError, match="khong dung voi ma da dang ky"):
            await a.send_edoc(from_code=unit, message_type="edoc", data=EDOC, to=[H41])
        assert unit not in {agency.code for agency in await a.agencies()}
    async with vxp(app, B) as b:
        with pytest.raises(AxisRefusedError) as taken:
            await b.register_agency(code=G22, parent_code=B, name="Chiếm mã")
    assert taken.value.error_code == "-11"


async def test_register_agency_needs_a_json_body(http: httpx.AsyncClient) -> None:
    body = await call(http, "registerAgency", signed([]), b'{"code":cc""}')  # the KIT's own
    assert fails(body, "-10")


async def test_synchronize_reports_registrations_and_edits_once(app: Starlette) -> None:
    async with vxp(app) as a, vxp(app, B) as b:
        everything = await a.synchronize_units()
        assert {u.code for u in everything} == {G22, H41, H14, G17}
        assert {u.code: u.center_code for u in everything}[H41] == B
        assert await a.synchronize_units() == []
        await b.register_agency(code="000.00.07.H41", parent_code=H41, name="Sở Y tế tỉnh Nghệ An")
        [new] = await a.synchronize_units()
        assert (new.code, new.deleted, new.center_code) == ("000.00.07.H41", False, B)
        assert new.pid == {u.code: u.id for u in everything}[H41]
        # B's own first sync still gets everything.
        assert len(await b.synchronize_units()) == 5


async def test_qd20_list_by_level(app: Starlette, http: httpx.AsyncClient) -> None:
    app.state.axis.edit_directory([DirectorySeed("000.20.31.H41", "Ủy ban nhân dân xã A")], [])
    body = await call(http, "getAgenciesListQD20", signed([("level", "3")]))
    assert body["data"] == [
        {
            "id": 5,
            "pid": 0,
            "code": "H41.31.20",
            "name": "Ủy ban nhân dân xã A",
            "mail": "",
            "oldCode": "000.20.31.H41",
            "code102": "000.20.31.H41",
        }
    ]


async def test_reset_undoes_runtime_changes(app: Starlette, http: httpx.AsyncClient) -> None:
    async with vxp(app) as a:
        await a.register_agency(code="000.00.05.G22", parent_code=A, name="Vụ Tổng hợp")
        await a.send_edoc(from_code=G22, message_type="edoc", data=EDOC, to=[H41])
    await http.post("/_sim/down", json={})
    assert (await http.post("/_sim/reset", json={})).json()["down"] is False
    assert (await http.get("/_sim/knobsticks")).json() == []
    assert "000.00.05.G22" not in (await http.get("/_sim/registered")).json()
    assert len(await vxp(app).agencies()) == 4


# --- configuration ---------------------------------------------------------------------------


async def test_base_path_and_hooks_are_configurable() -> None:
    app = create_app(make_config(base_path="/vxp", hooks=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://axis"
    ) as http:
        assert (await http.post(f"{BASE}/getAgenciesList", headers=signed([]))).status_code == 404
        assert (await http.get("/_sim/knobsticks")).status_code == 404
        ok = await http.post("/vxp/getAgenciesList", headers=signed([]))
    assert ok.json()["status"] == "OK"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"registered": {"00.00.W00": [G22]}}, "unknown system"),
        ({"registered": {A: [G22], B: [G22]}}, "two systems"),
        ({"base_path": "vxp/"}, "base_path"),
    ],
)
def test_inconsistent_configurations_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_config(**overrides)


def test_times_in_listings_are_vietnam_local(app: Starlette) -> None:
    moment = datetime.fromisoformat("2026-12-04T01:15:00+00:00")
    app.state.axis.clock = lambda: moment
    app.state.axis.edit_directory([DirectorySeed("000.00.09.H41", "Sở X")], [])
    [row] = [r for r in app.state.axis.synchronize(A) if r["code"] == "000.00.09.H41"]
    assert row["modifyDate"] == "04/12/2026 08:15:00"
