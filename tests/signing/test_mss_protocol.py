"""Pure parts of the MSS binding: message shape, control code, display text, status mapping."""

from __future__ import annotations

import base64
import hashlib

import pytest

import signing.mss as mss
from signing.errors import SigningError
from signing.mss_errors import (
    MssCardBlockedError,
    MssCertificateProblemError,
    MssError,
    MssExpiredError,
    MssInternalError,
    MssNoCertificateError,
    MssNoKeyError,
    MssPhoneUnreachableError,
    MssPinBlockedError,
    MssRequestError,
    MssRevokedCertificateError,
    MssUnauthorizedError,
    MssUnknownUserError,
    MssUserCancelledError,
    error_for_status,
)
from signing.mss_protocol import (
    EVENT_ID_SERVICE,
    KIURU_PKCS1_FORMAT,
    build_display_text,
    control_code,
    new_ap_trans_id,
    sha256_digest_info,
    signature_request,
)


def test_control_code_matches_the_mobile_id_worked_example() -> None:
    digest = bytes([0x2F]) + bytes(30) + bytes([0xB6])
    assert control_code(digest) == "1462"
    assert control_code(bytes([0xFF]) + bytes(30) + bytes([0xFF])) == "8191"


def test_display_text_keeps_the_code_within_110_characters() -> None:
    short = build_display_text(document_number="125/QĐ-UBND", code="1462")
    assert short == "Ký văn bản số 125/QĐ-UBND. Mã kiểm tra: 1462"
    long = build_display_text(document_number="9" * 300, code="0042")
    assert len(long) == 110
    assert long.endswith("Mã kiểm tra: 0042")


def test_ap_trans_ids_are_unique_ncnames_of_at_most_32_characters() -> None:
    ids = {new_ap_trans_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i[0] == "A" and len(i) <= 32 and i[1:].isalnum() for i in ids)


def test_signature_request_has_the_kiuru_shape() -> None:
    digest = hashlib.sha256(b"x").digest()
    message = signature_request(
        ap_id="ap",
        ap_password="pw",
        ap_trans_id="A1",
        msisdn="+84900000001",
        dtbs_hash=digest,
        display_text="Ký văn bản số 1. Mã kiểm tra: 1234",
        event_id="1234",
        mss_format=KIURU_PKCS1_FORMAT,
        time_out=120,
    )
    req = message["MSS_SignatureReq"]
    assert (req["MajorVersion"], req["MinorVersion"]) == ("1", "1")
    assert {"AP_ID", "AP_PWD", "AP_TransID", "Instant"} <= req["AP_Info"].keys()
    assert req["AP_Info"]["Instant"].endswith("Z")
    assert req["MessagingMode"] == "asynchClientServer"
    assert req["MobileUser"] == {"MSISDN": "+84900000001"}
    dtbs = req["DataToBeSigned"]
    assert (dtbs["MimeType"], dtbs["Encoding"]) == ("application/octet-stream", "base64")
    assert base64.b64decode(dtbs["Data"]) == sha256_digest_info(digest)
    assert sha256_digest_info(digest).hex().startswith("3031300d06096086480165030402010500")
    assert req["DataToBeDisplayed"]["MimeType"] == "text/plain"
    assert req["DataToBeDisplayed"]["Encoding"] == "UTF-8"
    assert req["AdditionalServices"] == [{"Description": EVENT_ID_SERVICE, "EventID": "1234"}]
    assert req["MSS_Format"] == KIURU_PKCS1_FORMAT


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (101, MssRequestError),
        (102, MssRequestError),
        (103, MssRequestError),
        (104, MssUnauthorizedError),
        (105, MssUnknownUserError),
        (107, MssRequestError),
        (108, MssRequestError),
        (109, MssRequestError),
        (208, MssExpiredError),
        (209, MssPhoneUnreachableError),
        (401, MssUserCancelledError),
        (402, MssPinBlockedError),
        (403, MssCardBlockedError),
        (404, MssNoKeyError),
        (422, MssNoCertificateError),
        (423, MssCertificateProblemError),
        (501, MssRevokedCertificateError),
        (900, MssInternalError),
    ],
)
def test_each_status_code_has_its_error(code: int, cls: type[MssError]) -> None:
    error = error_for_status(code, "detail")
    assert type(error) is cls
    assert error.code == code
    assert error.message_vi and error.message_en
    assert error.message_vi != MssError.default_vi


def test_unknown_code_is_a_generic_error_carrying_the_code() -> None:
    error = error_for_status(777, "odd")
    assert type(error) is MssError
    assert error.code == 777
    assert "777" in error.message_vi and "777" in str(error)
    assert isinstance(error, SigningError)


def test_vietnamese_messages_have_diacritics() -> None:
    assert error_for_status(401).message_vi.startswith("Bạn đã huỷ ký trên điện thoại")
    assert "hết hạn" in error_for_status(208).message_vi
    assert "khoá" in error_for_status(402).message_vi


def test_public_api_is_pinned() -> None:
    assert {
        "MssClient",
        "MssTransaction",
        "verify_notification",
        "InMemoryReplayGuard",
        "ReplayGuard",
        "MssNotification",
        "control_code",
        "build_display_text",
    } <= set(mss.__all__)
    assert all(hasattr(mss, name) for name in mss.__all__)
