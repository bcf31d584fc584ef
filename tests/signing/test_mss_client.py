"""The MSS client against a live MSSP simulator (real uvicorn on 127.0.0.1, no HTTP mocks)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from bs4 import BeautifulSoup
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature
from mss_support import (
    AP_ID,
    AP_PASSWORD,
    EC_MSISDN,
    MSSP_ID,
    NOCERT_MSISDN,
    RSA_MSISDN,
    LiveServer,
    identities,
    identity,
    live_server,
)

from backend.mssp_sim import SimConfig, create_app
from signing.errors import SignatureMismatchError, SigningError
from signing.mss import (
    MssClient,
    MssError,
    MssExpiredError,
    MssInvalidInputError,
    MssNoCertificateError,
    MssPhoneUnreachableError,
    MssPinBlockedError,
    MssPollTimeoutError,
    MssSignatureMismatchError,
    MssTransaction,
    MssUnauthorizedError,
    MssUnavailableError,
    MssUnknownUserError,
    MssUserCancelledError,
    build_display_text,
    control_code,
)
from tests.support.ports import free_port

pytestmark = pytest.mark.anyio

DTBS_HASH = hashlib.sha256(b"signed attributes of 125/QD-UBND").digest()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[LiveServer]:
    config = SimConfig(
        ap_id=AP_ID,
        ap_password=AP_PASSWORD,
        identities=identities(),
        mssp_id=MSSP_ID,
        enable_test_hooks=True,
        phone_refresh_seconds=0,
    )
    with live_server(create_app(config)) as live:
        yield live


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[MssClient]:
    async with MssClient(
        server.url,
        AP_ID,
        AP_PASSWORD,
        poll_initial_wait=0.05,
        poll_interval=0.05,
        poll_timeout=5,
    ) as mss:
        yield mss


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as session:
        yield session


async def behave(http: httpx.AsyncClient, msisdn: str, behaviour: str) -> None:
    response = await http.post(f"/_test/phones/{msisdn}/behaviour", json={"behaviour": behaviour})
    assert response.status_code == 200


async def start(client: MssClient, msisdn: str = RSA_MSISDN) -> MssTransaction:
    cert = await client.request_certificate(msisdn=msisdn)
    code = control_code(DTBS_HASH)
    return await client.start_signature(
        msisdn=msisdn,
        certificate_der=cert,
        dtbs_hash=DTBS_HASH,
        display_text=build_display_text(document_number="125/QĐ-UBND", code=code),
        event_id=code,
    )


# --- certificate lookup -------------------------------------------------------------------------


async def test_request_certificate_returns_the_sims_certificate(client: MssClient) -> None:
    assert (
        await client.request_certificate(msisdn=RSA_MSISDN) == identity(RSA_MSISDN).certificate_der
    )


async def test_request_certificate_of_unknown_number_is_105(client: MssClient) -> None:
    with pytest.raises(MssUnknownUserError) as caught:
        await client.request_certificate(msisdn="+84999999999")
    assert caught.value.code == 105
    assert "chưa đăng ký dịch vụ ký số qua SIM" in caught.value.message_vi


async def test_request_certificate_without_certificate_is_422(
    client: MssClient, http: httpx.AsyncClient
) -> None:
    with pytest.raises(MssNoCertificateError) as caught:
        await client.request_certificate(msisdn=NOCERT_MSISDN)
    assert caught.value.code == 422
    await behave(http, RSA_MSISDN, "no_cert")
    with pytest.raises(MssNoCertificateError):
        await client.request_certificate(msisdn=RSA_MSISDN)


# --- confirmed signatures -----------------------------------------------------------------------


async def test_confirmed_rsa_signature_is_returned_and_verifies(
    client: MssClient, http: httpx.AsyncClient
) -> None:
    await behave(http, RSA_MSISDN, "auto_confirm")
    tx = await start(client)
    signature = await client.await_signature(tx)

    key = x509.load_der_x509_certificate(tx.certificate_der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, DTBS_HASH, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    assert tx.ap_trans_id.startswith("A") and len(tx.ap_trans_id) <= 32
    assert tx.event_id == control_code(DTBS_HASH)


async def test_confirmed_ecdsa_signature_is_converted_to_der(
    client: MssClient, http: httpx.AsyncClient
) -> None:
    await behave(http, EC_MSISDN, "auto_confirm")
    tx = await start(client, EC_MSISDN)
    signature = await client.await_signature(tx)

    r, s = decode_dss_signature(signature)  # DER, not the SIM's r‖s
    assert r > 0 and s > 0
    key = x509.load_der_x509_certificate(tx.certificate_der).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(signature, DTBS_HASH, ec.ECDSA(Prehashed(hashes.SHA256())))


async def test_the_phone_shows_the_request_and_the_pin_form_confirms_it(
    client: MssClient, http: httpx.AsyncClient
) -> None:
    tx = await start(client)
    assert await client.poll_signature(tx) is None  # 504 outstanding until the user acts

    page = BeautifulSoup((await http.get(f"/phone/{RSA_MSISDN}")).text, "html.parser")
    section = page.select_one(f'[data-transaction="{tx.mssp_trans_id}"]')
    assert section is not None
    assert "125/QĐ-UBND" in section.select_one(".dtbd").get_text()
    assert section.select_one(".event strong").get_text() == tx.event_id
    form = section.select_one("form")
    answer = await http.post(
        form["action"],
        data={"transaction": tx.mssp_trans_id, "pin": "1234", "action": "confirm"},
        follow_redirects=True,
    )
    assert "Đã ký thành công." in answer.text

    signature = await client.await_signature(tx)
    key = x509.load_der_x509_certificate(tx.certificate_der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signature, DTBS_HASH, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


# --- refusals and failures ----------------------------------------------------------------------


async def test_cancel_on_the_phone_is_401(client: MssClient, http: httpx.AsyncClient) -> None:
    tx = await start(client)
    await http.post(
        f"/phone/{RSA_MSISDN}/answer", data={"transaction": tx.mssp_trans_id, "action": "cancel"}
    )
    with pytest.raises(MssUserCancelledError) as caught:
        await client.await_signature(tx)
    assert caught.value.code == 401
    assert caught.value.message_vi.startswith("Bạn đã huỷ ký trên điện thoại")
    assert isinstance(caught.value, SigningError)


async def test_auto_cancel_is_401(client: MssClient, http: httpx.AsyncClient) -> None:
    await behave(http, RSA_MSISDN, "auto_cancel")
    with pytest.raises(MssUserCancelledError):
        await client.await_signature(await start(client))


async def test_expired_transaction_is_208(client: MssClient, http: httpx.AsyncClient) -> None:
    await behave(http, RSA_MSISDN, "expire")
    with pytest.raises(MssExpiredError) as caught:
        await client.await_signature(await start(client))
    assert caught.value.code == 208


async def test_request_times_out_at_the_mssp_after_its_timeout(server: LiveServer) -> None:
    async with MssClient(
        server.url, AP_ID, AP_PASSWORD, time_out=1, poll_initial_wait=0.5, poll_interval=0.2
    ) as short:
        tx = await start(short)
        with pytest.raises(MssExpiredError):
            await short.await_signature(tx, max_wait=5)


async def test_three_wrong_pins_block_the_pin_402(
    client: MssClient, http: httpx.AsyncClient
) -> None:
    tx = await start(client)
    for attempt in range(3):
        answer = await http.post(
            f"/phone/{RSA_MSISDN}/answer",
            data={"transaction": tx.mssp_trans_id, "pin": "0000", "action": "confirm"},
            follow_redirects=True,
        )
        if attempt < 2:
            assert f"Bạn còn {2 - attempt} lần thử" in answer.text
    with pytest.raises(MssPinBlockedError) as caught:
        await client.await_signature(tx)
    assert caught.value.code == 402
    with pytest.raises(MssPinBlockedError):  # the next request is refused too
        await client.await_signature(await start(client))


async def test_pin_blocked_behaviour_is_402(client: MssClient, http: httpx.AsyncClient) -> None:
    await behave(http, RSA_MSISDN, "pin_blocked")
    with pytest.raises(MssPinBlockedError):
        await client.await_signature(await start(client))


async def test_signature_over_other_data_is_refused(
    client: MssClient, http: httpx.AsyncClient
) -> None:
    for msisdn in (RSA_MSISDN, EC_MSISDN):
        await behave(http, msisdn, "wrong_data")
        with pytest.raises(MssSignatureMismatchError) as caught:
            await client.await_signature(await start(client, msisdn))
        assert isinstance(caught.value, SignatureMismatchError)
        assert "không khớp" in caught.value.message_vi


async def test_phone_unreachable_is_209(client: MssClient, http: httpx.AsyncClient) -> None:
    await behave(http, RSA_MSISDN, "unreachable")
    with pytest.raises(MssPhoneUnreachableError) as caught:
        await client.await_signature(await start(client))
    assert caught.value.code == 209


async def test_signature_for_unknown_number_is_105(client: MssClient) -> None:
    cert = await client.request_certificate(msisdn=RSA_MSISDN)
    with pytest.raises(MssUnknownUserError):
        await client.start_signature(
            msisdn="+84999999999",
            certificate_der=cert,
            dtbs_hash=DTBS_HASH,
            display_text="Ký văn bản số 1/QĐ",
        )


async def test_polling_gives_up_after_the_timeout(client: MssClient) -> None:
    tx = await start(client)
    with pytest.raises(MssPollTimeoutError) as caught:
        await client.await_signature(tx, initial_wait=0.05, interval=0.05, max_wait=0.3)
    assert "Quá thời gian chờ" in caught.value.message_vi


async def test_simulator_down_is_unavailable(client: MssClient, http: httpx.AsyncClient) -> None:
    await http.post("/_test/down", json={"down": True})
    with pytest.raises(MssUnavailableError) as caught:
        await client.request_certificate(msisdn=RSA_MSISDN)
    assert "HTTP 503" in str(caught.value)


async def test_nothing_listening_is_unavailable() -> None:
    async with MssClient(f"http://127.0.0.1:{free_port()}", AP_ID, AP_PASSWORD) as mss:
        with pytest.raises(MssUnavailableError) as caught:
            await mss.request_certificate(msisdn=RSA_MSISDN)
    assert "Không kết nối được" in caught.value.message_vi


async def test_wrong_ap_password_is_104(server: LiveServer) -> None:
    async with MssClient(server.url, AP_ID, "wrong") as mss:
        with pytest.raises(MssUnauthorizedError) as caught:
            await mss.request_certificate(msisdn=RSA_MSISDN)
    assert caught.value.code == 104


async def test_injected_http_client_is_used_and_left_open(server: LiveServer) -> None:
    async with httpx.AsyncClient() as session:
        async with MssClient(server.url, AP_ID, AP_PASSWORD, http_client=session) as mss:
            await mss.request_certificate(msisdn=RSA_MSISDN)
        assert not session.is_closed


async def test_invalid_input_is_refused_before_sending(client: MssClient) -> None:
    cert = identity(RSA_MSISDN).certificate_der
    assert cert is not None
    good = {
        "msisdn": RSA_MSISDN,
        "certificate_der": cert,
        "dtbs_hash": DTBS_HASH,
        "display_text": "Ký văn bản",
    }
    bad_values: list[dict[str, object]] = [
        {"msisdn": "0900000001"},
        {"dtbs_hash": DTBS_HASH[:20]},
        {"display_text": "x" * 111},
        {"certificate_der": b"not a certificate"},
        {"event_id": "12"},
    ]
    for bad in bad_values:
        with pytest.raises(MssInvalidInputError):
            await client.start_signature(**{**good, **bad})


def test_a_mssp_error_is_a_signing_error() -> None:
    assert issubclass(MssError, SigningError)
