"""The MSSP simulator in process (httpx.ASGITransport): protocol faults, virtual phone, hooks."""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from backend.mssp_sim import SimConfig, SimIdentity, create_app, demo_config, generate_identity
from signing.mss_protocol import (
    KIURU_PKCS1_FORMAT,
    profile_request,
    signature_request,
    status_request,
)

pytestmark = pytest.mark.anyio

AP_ID = "http://eoffice.test/ap"
AP_PWD = "sim-test-password"
MSISDN = "+84911000001"
DIGEST = hashlib.sha256(b"dtbs").digest()


@functools.cache
def sim_identity() -> SimIdentity:
    return generate_identity(MSISDN, display_name="Phạm Thị Dung")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_config(**overrides: Any) -> SimConfig:
    values: dict[str, Any] = {
        "ap_id": AP_ID,
        "ap_password": AP_PWD,
        "identities": (sim_identity(),),
        "enable_test_hooks": True,
    }
    values.update(overrides)
    return SimConfig(**values)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(make_config()))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def sign_req(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ap_id": AP_ID,
        "ap_password": AP_PWD,
        "ap_trans_id": "A" + secrets.token_hex(8),
        "msisdn": MSISDN,
        "dtbs_hash": DIGEST,
        "display_text": "Ký văn bản số 12/CV-VP. Mã kiểm tra: 4321",
        "event_id": "4321",
        "mss_format": KIURU_PKCS1_FORMAT,
        "time_out": 60,
    }
    values.update(overrides)
    return signature_request(**values)


async def start(http: httpx.AsyncClient) -> str:
    response = await http.post("/rest/service", json=sign_req(), auth=(AP_ID, AP_PWD))
    body = response.json()["MSS_SignatureResp"]
    assert body["Status"]["StatusCode"]["Value"] == 100
    tx_id: str = body["MSSP_TransID"]
    return tx_id


async def status(http: httpx.AsyncClient, tx_id: str) -> dict[str, Any]:
    req = status_request(ap_id=AP_ID, ap_password=AP_PWD, ap_trans_id="A1", mssp_trans_id=tx_id)
    body: dict[str, Any] = (await http.post("/rest/service", json=req)).json()["MSS_StatusResp"]
    return body


def fault_code(response: httpx.Response) -> str:
    value: str = response.json()["Fault"]["Code"]["SubCode"]["Value"]
    return value


async def test_phone_page_pin_form_confirms_the_transaction(http: httpx.AsyncClient) -> None:
    tx_id = await start(http)
    assert (await status(http, tx_id))["Status"]["StatusCode"]["Value"] == 504

    page = await http.get(f"/phone/{MSISDN}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.html is not None and soup.html["lang"] == "vi"
    assert all(s.get("src") and not s.string for s in soup.find_all("script"))
    assert not soup.find_all("style") and not soup.select("[style]")
    assert not soup.select('[src^="http"], [href^="http"]')  # no external assets
    section = soup.select_one(f'[data-transaction="{tx_id}"]')
    assert section is not None
    assert section.select_one(".dtbd").get_text() == "Ký văn bản số 12/CV-VP. Mã kiểm tra: 4321"
    assert section.select_one(".event strong").get_text() == "4321"
    buttons = {b["value"]: b.get_text() for b in section.select("button")}
    assert buttons == {"confirm": "Xác nhận", "cancel": "Huỷ"}
    form = section.select_one("form")
    fields = {i["name"]: i.get("value", "") for i in form.select("input")}
    assert set(fields) == {"transaction", "pin"}

    answer = await http.post(
        form["action"], data={**fields, "pin": "1234", "action": "confirm"}, follow_redirects=True
    )
    done = BeautifulSoup(answer.text, "html.parser")
    assert done.select_one(".flash").get_text() == "Đã ký thành công."
    assert done.select_one(f'[data-transaction="{tx_id}"]') is None

    result = await status(http, tx_id)
    assert result["Status"]["StatusCode"]["Value"] == 500
    signature = base64.b64decode(result["MSS_Signature"]["Base64Signature"])
    cert_der = sim_identity().certificate_der
    assert cert_der is not None
    key = x509.load_der_x509_certificate(cert_der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, DIGEST, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


async def test_cancel_button_ends_with_401(http: httpx.AsyncClient) -> None:
    tx_id = await start(http)
    answer = await http.post(
        f"/phone/{MSISDN}/answer",
        data={"transaction": tx_id, "pin": "", "action": "cancel"},
        follow_redirects=True,
    )
    assert "Bạn đã huỷ yêu cầu ký." in answer.text
    assert (await status(http, tx_id))["Status"]["StatusCode"]["Value"] == 401


async def test_three_wrong_pins_block_the_pin(http: httpx.AsyncClient) -> None:
    tx_id = await start(http)
    texts = []
    for _ in range(3):
        answer = await http.post(
            f"/phone/{MSISDN}/answer",
            data={"transaction": tx_id, "pin": "9999", "action": "confirm"},
            follow_redirects=True,
        )
        texts.append(BeautifulSoup(answer.text, "html.parser").select_one(".flash").get_text())
    assert texts[:2] == ["Sai mã PIN. Bạn còn 2 lần thử.", "Sai mã PIN. Bạn còn 1 lần thử."]
    assert "bị khoá" in texts[2]
    assert (await status(http, tx_id))["Status"]["StatusCode"]["Value"] == 402


async def test_answer_for_another_phone_is_ignored(http: httpx.AsyncClient) -> None:
    tx_id = await start(http)
    answer = await http.post(
        "/phone/+84911000999/answer",
        data={"transaction": tx_id, "pin": "1234", "action": "confirm"},
    )
    assert answer.status_code == 303
    assert (await status(http, tx_id))["Status"]["StatusCode"]["Value"] == 504


async def test_unknown_phone_page_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/phone/+84911000999")
    assert response.status_code == 404
    assert "Không có SIM ký số" in response.text


async def test_phone_script_and_stylesheet_are_served(http: httpx.AsyncClient) -> None:
    js = await http.get("/phone.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "location.reload" in js.text
    assert (await http.get("/phone.css")).headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("request_body", "code", "http_status"),
    [
        (sign_req(ap_password="wrong"), "mss:_104", 401),
        (sign_req(msisdn="+84911000999"), "mss:_105", 400),
        (sign_req(mss_format="urn:cms"), "mss:_101", 400),
        (
            {"MSS_SignatureReq": {**sign_req()["MSS_SignatureReq"], "MajorVersion": "2"}},
            "mss:_108",
            400,
        ),
        (
            {"MSS_SignatureReq": {**sign_req()["MSS_SignatureReq"], "MessagingMode": "synch"}},
            "mss:_101",
            400,
        ),
        (sign_req(display_text="x" * 111), "mss:_103", 400),
        (sign_req(event_id="!!"), "mss:_101", 400),
        ({"MSS_RegistrationReq": {}}, "mss:_101", 400),
    ],
)
async def test_bad_requests_get_faults(
    http: httpx.AsyncClient, request_body: dict[str, Any], code: str, http_status: int
) -> None:
    response = await http.post("/rest/service", json=request_body)
    assert response.status_code == http_status
    assert fault_code(response) == code


async def test_short_dtbs_is_wrong_data_length(http: httpx.AsyncClient) -> None:
    req = sign_req()
    req["MSS_SignatureReq"]["DataToBeSigned"]["Data"] = base64.b64encode(DIGEST).decode()
    assert fault_code(await http.post("/rest/service", json=req)) == "mss:_103"


async def test_reused_ap_trans_id_is_refused(http: httpx.AsyncClient) -> None:
    req = sign_req()
    assert (await http.post("/rest/service", json=req)).status_code == 200
    assert fault_code(await http.post("/rest/service", json=req)) == "mss:_101"


async def test_wrong_basic_auth_is_refused_even_with_body_credentials(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/rest/service", json=sign_req(), auth=(AP_ID, "nope"))
    assert fault_code(response) == "mss:_104"


async def test_profile_lists_the_certificate(http: httpx.AsyncClient) -> None:
    req = profile_request(ap_id=AP_ID, ap_password=AP_PWD, ap_trans_id="A9", msisdn=MSISDN)
    body = (await http.post("/rest/service", json=req)).json()["MSS_ProfileResp"]
    assert body["Status"]["StatusCode"]["Value"] == 100
    assert base64.b64decode(body["Certificates"][0]) == sim_identity().certificate_der


async def test_hooks_expire_and_list_transactions(http: httpx.AsyncClient) -> None:
    tx_id = await start(http)
    listed = (await http.get("/_test/transactions")).json()
    assert [t["mssp_trans_id"] for t in listed] == [tx_id]
    assert listed[0]["event_id"] == "4321"
    outcome = (await http.post(f"/_test/transactions/{tx_id}/expire")).json()
    assert outcome == {"outcome": "expired"}
    assert (await status(http, tx_id))["Status"]["StatusCode"]["Value"] == 208


async def test_down_hook_answers_503(http: httpx.AsyncClient) -> None:
    await http.post("/_test/down", json={"down": True})
    assert (await http.post("/rest/service", json=sign_req())).status_code == 503
    await http.post("/_test/down", json={"down": False})
    assert (await http.post("/rest/service", json=sign_req())).status_code == 200


async def test_bad_behaviour_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(f"/_test/phones/{MSISDN}/behaviour", json={"behaviour": "fly"})
    assert response.status_code == 400


async def test_hooks_are_off_unless_enabled() -> None:
    app = create_app(make_config(enable_test_hooks=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        assert (await c.get("/_test/transactions")).status_code == 404
        response = await c.post("/_test/down", json={"down": True})
        assert response.status_code in (404, 405)


async def test_transaction_expires_after_its_timeout() -> None:
    now = [1000.0]
    app = create_app(make_config())
    app.state.sim.store._clock = lambda: now[0]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        tx_id = await start(c)
        now[0] += 59
        assert (await status(c, tx_id))["Status"]["StatusCode"]["Value"] == 504
        now[0] += 2
        assert (await status(c, tx_id))["Status"]["StatusCode"]["Value"] == 208


def test_generated_identities_and_demo_config() -> None:
    ec_sim = generate_identity("+84911000002", key_type="ec")
    assert ec_sim.certificate_der is not None
    cert = x509.load_der_x509_certificate(ec_sim.certificate_der)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    with pytest.raises(ValueError):
        generate_identity("+84911000003", key_type="dsa")
    config = demo_config(pin="0000")
    assert config.pin == "0000" and len(config.identities) == 2
    assert not config.enable_test_hooks
