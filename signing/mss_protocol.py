"""The JSON binding of ETSI TS 102 204 (shaped like the Kiuru MSSP REST API): messages and codes.

Pure functions only — no I/O — so the client and the simulator agree on one vocabulary.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from signing import signature_values
from signing.mss_errors import MssInvalidInputError, MssProtocolError

__all__ = [
    "ETSI_PKCS1_FORMAT",
    "EVENT_ID_SERVICE",
    "KIURU_PKCS1_FORMAT",
    "SHA256_DIGEST_INFO_PREFIX",
    "STATUS_OUTSTANDING",
    "STATUS_REQUEST_OK",
    "STATUS_SIGNATURE",
    "STATUS_VALID_SIGNATURE",
    "build_display_text",
    "control_code",
    "fault_code",
    "new_ap_trans_id",
    "sha256_digest_info",
    "status_code",
]

MAJOR_VERSION = "1"
MINOR_VERSION = "1"
KIURU_PKCS1_FORMAT = "http://www.methics.fi/KiuruMSSP/v3.2.0#PKCS1"
ETSI_PKCS1_FORMAT = "http://uri.etsi.org/TS102204/v1.1.2#PKCS1"
EVENT_ID_SERVICE = "http://mss.ficom.fi/TS102204/v1.0.0#eventId"
MESSAGING_MODE = "asynchClientServer"

STATUS_REQUEST_OK = 100
STATUS_SIGNATURE = 500
STATUS_VALID_SIGNATURE = 502
STATUS_OUTSTANDING = 504

# DER of DigestInfo{AlgorithmIdentifier{sha256, NULL}, OCTET STRING(32)} up to the hash itself.
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

MAX_DISPLAY_TEXT = 110  # FiCom's limit for DataToBeDisplayed
_EVENT_ID = re.compile(r"[A-Za-z0-9]{4,8}")
_MSISDN = re.compile(r"\+[1-9][0-9]{6,14}")


def sha256_digest_info(dtbs_hash: bytes) -> bytes:
    """DER DigestInfo for a SHA-256 hash — what the SIM signs with RSA PKCS#1 v1.5.

    Args:
        dtbs_hash: the 32-byte SHA-256 digest of the data to be signed.

    Returns:
        The 51-byte DER encoding.

    Raises:
        MssInvalidInputError: the hash is not 32 bytes long.
    """
    if len(dtbs_hash) != hashlib.sha256().digest_size:
        raise MssInvalidInputError(f"DTBS hash must be 32 bytes, got {len(dtbs_hash)}")
    return SHA256_DIGEST_INFO_PREFIX + dtbs_hash


def control_code(dtbs_hash: bytes) -> str:
    """The 4-digit control code shown both on screen and on the phone (Mobile-ID algorithm).

    Six bits from the start of the hash and seven from its end, printed as 0000–8191.

    Args:
        dtbs_hash: the hash actually signed (the DTBS digest, at least 20 bytes).

    Returns:
        Four decimal digits.

    Raises:
        MssInvalidInputError: the hash is shorter than 20 bytes.
    """
    if len(dtbs_hash) < 20:
        raise MssInvalidInputError("control code needs a hash of at least 20 bytes")
    # One formula for the whole library: the same code the signing flow shows on screen.
    return signature_values.control_code(dtbs_hash=dtbs_hash)


def build_display_text(*, document_number: str, code: str) -> str:
    """Short Vietnamese text for the phone screen, cut to the 110-character limit.

    Args:
        document_number: the document's number/symbol, e.g. ``"125/QĐ-UBND"``.
        code: the control code (EventID) shown on both screens.

    Returns:
        Text of at most 110 characters that always keeps the control code.
    """
    tail = f". Mã kiểm tra: {code}"
    head = "Ký văn bản số "
    room = MAX_DISPLAY_TEXT - len(head) - len(tail)
    number = document_number if len(document_number) <= room else document_number[: room - 1] + "…"
    return f"{head}{number}{tail}"


def new_ap_trans_id() -> str:
    """A fresh AP_TransID: ``"A"`` + 30 hex digits (NCName, at most 32 characters)."""
    return "A" + secrets.token_hex(15)


def instant(now: datetime | None = None) -> str:
    """An xs:dateTime in UTC with a ``Z`` suffix."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def check_msisdn(msisdn: str) -> None:
    """Refuse a phone number that is not in international ``+84...`` form."""
    if not _MSISDN.fullmatch(msisdn):
        raise MssInvalidInputError(
            f"MSISDN must be in international format (+84...), got {msisdn!r}",
            message_vi="Số điện thoại ký số phải ở dạng quốc tế, ví dụ +84912345678.",
        )


def check_event_id(event_id: str) -> None:
    """Refuse an EventID that is not 4–8 letters or digits (FiCom)."""
    if not _EVENT_ID.fullmatch(event_id):
        raise MssInvalidInputError(f"EventID must be 4-8 letters or digits, got {event_id!r}")


def _header(ap_id: str, ap_password: str, ap_trans_id: str) -> dict[str, Any]:
    return {
        "MajorVersion": MAJOR_VERSION,
        "MinorVersion": MINOR_VERSION,
        "AP_Info": {
            "AP_ID": ap_id,
            "AP_PWD": ap_password,
            "AP_TransID": ap_trans_id,
            "Instant": instant(),
        },
        "MSSP_Info": {"MSSP_ID": {}},
    }


def signature_request(
    *,
    ap_id: str,
    ap_password: str,
    ap_trans_id: str,
    msisdn: str,
    dtbs_hash: bytes,
    display_text: str,
    event_id: str,
    mss_format: str,
    time_out: int,
) -> dict[str, Any]:
    """``{"MSS_SignatureReq": ...}`` asking the SIM for a raw PKCS#1 signature of a DigestInfo."""
    body = _header(ap_id, ap_password, ap_trans_id)
    body.update(
        {
            "MessagingMode": MESSAGING_MODE,
            "TimeOut": str(time_out),
            "MobileUser": {"MSISDN": msisdn},
            "DataToBeSigned": {
                "MimeType": "application/octet-stream",
                "Encoding": "base64",
                "Data": base64.b64encode(sha256_digest_info(dtbs_hash)).decode("ascii"),
            },
            "DataToBeDisplayed": {
                "MimeType": "text/plain",
                "Encoding": "UTF-8",
                "Data": display_text,
            },
            "AdditionalServices": [{"Description": EVENT_ID_SERVICE, "EventID": event_id}],
            "MSS_Format": mss_format,
        }
    )
    return {"MSS_SignatureReq": body}


def status_request(
    *, ap_id: str, ap_password: str, ap_trans_id: str, mssp_trans_id: str
) -> dict[str, Any]:
    """``{"MSS_StatusReq": ...}`` for one outstanding transaction."""
    body = _header(ap_id, ap_password, ap_trans_id)
    body["MSSP_TransID"] = mssp_trans_id
    return {"MSS_StatusReq": body}


def profile_request(
    *, ap_id: str, ap_password: str, ap_trans_id: str, msisdn: str
) -> dict[str, Any]:
    """``{"MSS_ProfileReq": ...}`` asking for the user's signing certificates.

    ``Params.GetCertificates`` is this project's spelling of the FiCom/Kiuru certificate query.
    """
    body = _header(ap_id, ap_password, ap_trans_id)
    body["MobileUser"] = {"MSISDN": msisdn}
    body["Params"] = {"GetCertificates": True}
    return {"MSS_ProfileReq": body}


def _int_code(value: object) -> int:
    # Fault subcodes look like "_101" or "mss:_101"; status values like 504 or "504".
    text = str(value).rsplit(":", 1)[-1].lstrip("_")
    try:
        return int(text)
    except ValueError:
        raise MssProtocolError(f"unreadable MSS status code {value!r}") from None


def status_code(message: Mapping[str, Any]) -> tuple[int, str | None]:
    """The primary status code and message of a response body (``Status.StatusCode.Value``)."""
    status = message.get("Status")
    if not isinstance(status, Mapping) or not isinstance(status.get("StatusCode"), Mapping):
        raise MssProtocolError("MSS response without Status.StatusCode")
    detail = status.get("StatusMessage")
    return _int_code(status["StatusCode"].get("Value")), (
        str(detail) if detail is not None else None
    )


def fault_code(document: Mapping[str, Any]) -> tuple[int, str | None] | None:
    """``(code, reason)`` of a ``{"Fault": ...}`` document, or ``None`` when it is not a fault."""
    fault = document.get("Fault")
    if not isinstance(fault, Mapping):
        return None
    code = fault.get("Code")
    sub = code.get("SubCode") if isinstance(code, Mapping) else None
    if not isinstance(sub, Mapping):
        raise MssProtocolError("MSS fault without Code.SubCode")
    reason = fault.get("Reason")
    return _int_code(sub.get("Value")), str(reason) if reason is not None else None
