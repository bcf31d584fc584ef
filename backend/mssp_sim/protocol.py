"""The MSSP's JSON endpoint: MSS_SignatureReq, MSS_StatusReq and MSS_ProfileReq."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from backend.mssp_sim.config import Behaviour
from backend.mssp_sim.state import Sim, sim_of
from backend.mssp_sim.store import STATUS_NAMES, SimUser, Transaction
from signing.mss_protocol import (
    ETSI_PKCS1_FORMAT,
    EVENT_ID_SERVICE,
    KIURU_PKCS1_FORMAT,
    MAX_DISPLAY_TEXT,
    SHA256_DIGEST_INFO_PREFIX,
    instant,
)

__all__ = ["service"]

_AP_TRANS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}")
_EVENT_ID = re.compile(r"[A-Za-z0-9]{4,8}")
_FORMATS = frozenset({KIURU_PKCS1_FORMAT, ETSI_PKCS1_FORMAT})


class Fault(Exception):
    """A request the MSSP refuses; becomes a ``{"Fault": ...}`` document."""

    def __init__(self, code: int, detail: str, http_status: int = 400) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.http_status = http_status


def _fault_response(fault: Fault) -> JSONResponse:
    side = "env:Receiver" if fault.code >= 900 else "env:Sender"
    body = {
        "Fault": {
            "Code": {"Value": side, "SubCode": {"Value": f"mss:_{fault.code}"}},
            "Reason": STATUS_NAMES.get(fault.code, "ERROR"),
            "Detail": fault.detail,
        }
    }
    return JSONResponse(body, status_code=fault.http_status)


def _obj(parent: Mapping[str, Any], name: str, missing: int = 102) -> Mapping[str, Any]:
    value = parent.get(name)
    if not isinstance(value, Mapping):
        raise Fault(missing, f"{name} is missing")
    return value


async def service(request: Request) -> Response:
    """POST /rest/service — one JSON document in, one out."""
    sim = sim_of(request)
    if sim.store.down:
        return PlainTextResponse("Service Unavailable", status_code=503)
    try:
        document = await request.json()
    except ValueError:
        return _fault_response(Fault(101, "body is not JSON"))
    if not isinstance(document, Mapping) or len(document) != 1:
        return _fault_response(Fault(101, "expected one MSS_*Req object"))
    (name, message), *_ = document.items()
    handlers = {
        "MSS_SignatureReq": _signature,
        "MSS_StatusReq": _status_query,
        "MSS_ProfileReq": _profile,
    }
    handler = handlers.get(name)
    try:
        if handler is None or not isinstance(message, Mapping):
            raise Fault(101, f"unsupported message {name!r}")
        _authenticate(sim, request, message)
        return JSONResponse(handler(sim, message))
    except Fault as fault:
        return _fault_response(fault)


def _authenticate(sim: Sim, request: Request, message: Mapping[str, Any]) -> None:
    if str(message.get("MajorVersion")) != "1":
        raise Fault(108, "only MajorVersion 1 is supported")
    ap_info = _obj(message, "AP_Info")
    ok = secrets.compare_digest(
        str(ap_info.get("AP_ID", "")).encode(), sim.config.ap_id.encode()
    ) & secrets.compare_digest(
        str(ap_info.get("AP_PWD", "")).encode(), sim.config.ap_password.encode()
    )
    header = request.headers.get("Authorization")
    if header is not None:
        expected = base64.b64encode(f"{sim.config.ap_id}:{sim.config.ap_password}".encode())
        ok &= secrets.compare_digest(header.encode(), b"Basic " + expected)
    if not ok:
        raise Fault(104, "unknown AP or wrong password", http_status=401)
    if not _AP_TRANS_ID.fullmatch(str(ap_info.get("AP_TransID", ""))):
        raise Fault(101, "AP_TransID must be an NCName of 1-32 characters")


def _header(message: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "MajorVersion": "1",
        "MinorVersion": "1",
        "AP_Info": dict(_obj(message, "AP_Info")),
        "MSSP_Info": {"MSSP_ID": {"URI": "mssp-sim"}, "Instant": instant()},
    }


def _status(code: int) -> dict[str, Any]:
    return {"StatusCode": {"Value": code}, "StatusMessage": STATUS_NAMES.get(code, "UNKNOWN")}


def _user(sim: Sim, message: Mapping[str, Any]) -> SimUser:
    msisdn = _obj(message, "MobileUser").get("MSISDN")
    user = sim.store.users.get(str(msisdn))
    if user is None:
        raise Fault(105, f"unknown mobile user {msisdn!r}")
    return user


def _signature(sim: Sim, message: Mapping[str, Any]) -> dict[str, Any]:
    if message.get("MessagingMode") != "asynchClientServer":
        raise Fault(101, "only MessagingMode asynchClientServer is supported")
    if message.get("MSS_Format") not in _FORMATS:
        raise Fault(101, "MSS_Format must ask for PKCS1")
    user = _user(sim, message)
    ap_trans_id = str(message["AP_Info"]["AP_TransID"])
    if ap_trans_id in sim.seen_ap_trans_ids:
        raise Fault(101, "AP_TransID was already used")
    dtbs = _obj(message, "DataToBeSigned")
    if (dtbs.get("MimeType"), dtbs.get("Encoding")) != ("application/octet-stream", "base64"):
        raise Fault(101, "DataToBeSigned must be application/octet-stream, base64")
    try:
        digest_info = base64.b64decode(str(dtbs.get("Data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise Fault(101, "DataToBeSigned is not base64") from None
    if len(digest_info) != 51 or not digest_info.startswith(SHA256_DIGEST_INFO_PREFIX):
        raise Fault(103, "DataToBeSigned must be a SHA-256 DigestInfo")
    dtbd = _obj(message, "DataToBeDisplayed")
    text = dtbd.get("Data")
    if not isinstance(text, str) or not text or len(text) > MAX_DISPLAY_TEXT:
        raise Fault(103, f"DataToBeDisplayed must be 1-{MAX_DISPLAY_TEXT} characters")
    event_id = _event_id(message.get("AdditionalServices"))
    try:
        timeout = int(message.get("TimeOut", sim.config.default_timeout))
    except (TypeError, ValueError):
        raise Fault(101, "TimeOut must be a number of seconds") from None
    if not 1 <= timeout <= 600:
        raise Fault(101, "TimeOut must be 1-600 seconds")
    sim.seen_ap_trans_ids.add(ap_trans_id)
    tx = sim.store.start(
        user=user,
        ap_trans_id=ap_trans_id,
        digest=digest_info[len(SHA256_DIGEST_INFO_PREFIX) :],
        display_text=text,
        event_id=event_id,
        timeout=timeout,
    )
    body = _header(message)
    body.update(
        {
            "MSSP_TransID": tx.mssp_trans_id,
            "MobileUser": {"MSISDN": tx.msisdn},
            "Status": _status(100),
        }
    )
    return {"MSS_SignatureResp": body}


def _event_id(services: object) -> str:
    if not isinstance(services, list):
        raise Fault(102, "AdditionalServices with an EventID is required")
    event_id: str | None = None
    for service in services:
        if not isinstance(service, Mapping) or service.get("Description") != EVENT_ID_SERVICE:
            raise Fault(101, "unknown AdditionalService")
        event_id = str(service.get("EventID", ""))
    if event_id is None or not _EVENT_ID.fullmatch(event_id):
        raise Fault(101, "EventID must be 4-8 letters or digits")
    return event_id


def _status_resp(message: Mapping[str, Any], tx: Transaction) -> dict[str, Any]:
    body = _header(message)
    body.update(
        {
            "MSSP_TransID": tx.mssp_trans_id,
            "MobileUser": {"MSISDN": tx.msisdn},
            "Status": _status(tx.status),
        }
    )
    if tx.signature is not None:
        body["MSS_Signature"] = {"Base64Signature": base64.b64encode(tx.signature).decode()}
    return {"MSS_StatusResp": body}


def _status_query(sim: Sim, message: Mapping[str, Any]) -> dict[str, Any]:
    tx = sim.store.get(str(message.get("MSSP_TransID", "")))
    if tx is None:
        raise Fault(101, "unknown MSSP_TransID")
    return _status_resp(message, tx)


def _profile(sim: Sim, message: Mapping[str, Any]) -> dict[str, Any]:
    user = _user(sim, message)
    body = _header(message)
    body["MobileUser"] = {"MSISDN": user.identity.msisdn}
    body["SignatureProfile"] = ["http://mssp-sim.eoffice.local/profiles/pkcs1-sha256"]
    cert = user.identity.certificate_der
    if cert is None or user.behaviour is Behaviour.NO_CERT:
        body["Status"] = _status(422)
    else:
        body["Status"] = _status(100)
        body["Certificates"] = [base64.b64encode(cert).decode()]
    return {"MSS_ProfileResp": body}
