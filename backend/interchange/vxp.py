"""The client of the national axis' VXP API, speaking it as the VPCP Java SDK does (README §6).

Every call is signed with the `XroadVnpt-*` headers (`xroad.signed_headers`, fields in the SDK's
HashMap order); the timestamp is fixed once per client, as the SDK fixes it once per service
object. Bodies follow the SDK byte for byte: sendEdoc sends the raw edXML plus CRLF as
`application/octet-stream`, getEdoc and updateStatus send `{}`, the list calls send nothing,
registerAgency sends its JSON.

Errors: connection failures, timeouts and HTTP 5xx raise `AxisUnavailableError` (retry later);
a sendEdoc whose request went out but whose answer never came raises `AxisOutcomeUnknownError`
(look in `sent()` before resending: the axis has no idempotency key); `status: FAIL` raises
`AxisRefusedError` with the axis' ErrorCode/ErrorDesc and a message a clerk can act on.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

import httpx

from backend.core.clock import VIETNAM, as_utc
from backend.interchange import xroad
from backend.interchange.errors import (
    AxisOutcomeUnknownError,
    AxisRefusedError,
    AxisUnavailableError,
)

__all__ = ["AxisAgency", "AxisUnit", "Received", "Sent", "VxpClient"]

MessageType = Literal["edoc", "status"]
AckStatus = Literal["done", "fail", "processing"]
SERVICE_TYPE = "eDoc"
JSON = "application/json"
OCTET_STREAM = "application/octet-stream"
# fromDate/toDate of the list calls (a NETQN comment) [src]; the same pattern is tried first when
# reading the axis' times, whose format no source shows [unverified].
LIST_DATE_FORMAT = "%d/%m/%Y %H:%M:%S"
_TIME_FORMATS = (LIST_DATE_FORMAT, "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%d-%m-%Y %H:%M:%S")
_FROM_NOT_REGISTERED = re.compile(
    r"Don vi gui\s+(?P<code>\S+)\s+khong dung voi ma da dang ky:?\s*(?P<system>\S*)", re.I
)


@dataclass(frozen=True, slots=True)
class Received:
    """One knobstick waiting for us in getReceivedEdocList."""

    doc_id: str
    from_code: str
    to_code: str
    message_type: str
    created_time: datetime | None
    status: str


@dataclass(frozen=True, slots=True)
class Sent:
    """One (packet, recipient) delivery we made, from getSentEdocList."""

    sender_doc_id: str
    receiver_doc_id: str
    from_code: str
    to_code: str
    title: str
    notation: str
    sent_time: datetime | None
    received_time: datetime | None
    send_status: str
    receive_status: str


@dataclass(frozen=True, slots=True)
class AxisAgency:
    """One row of getAgenciesList; `pid` is the parent's `id` (the directory is a tree)."""

    id: str
    pid: str
    code: str
    name: str
    mail: str


@dataclass(frozen=True, slots=True)
class AxisUnit:
    """One row of getSynchronizeUnit (a change to the directory since the last sync)."""

    id: str
    pid: str
    code: str
    name: str
    mail: str
    center_code: str
    version: int
    deleted: bool
    modify_date: datetime | None
    is_agency: bool | None
    code102: str
    old_code: str


class VxpClient:
    """An async VXP client for one system id. Not safe to share across event loops."""

    def __init__(
        self,
        *,
        base_url: str,
        system_id: str,
        secret: str,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.system_id = system_id
        self._secret = secret
        now = (clock or _vietnam_now)()
        self.timestamp = xroad.sdk_timestamp(_in_vietnam(now))
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/", timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> VxpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def headers(self, *, content_type: str, params: list[tuple[str, str]]) -> dict[str, str]:
        """The signed headers of one call, exactly as sent."""
        return xroad.signed_headers(
            system_id=self.system_id,
            secret=self._secret,
            timestamp=self.timestamp,
            content_type=content_type,
            params=params,
            sdk_order=True,
        )

    async def send_edoc(
        self, *, from_code: str, message_type: MessageType, data: bytes, to: Sequence[str] = ()
    ) -> str:
        """Hand one edXML packet to the axis; returns its DocId (the sender's knobstick id).

        Without `to` the axis routes by the packet (To for edoc, ResponseFor for status).
        Raises AxisOutcomeUnknownError when the request went out but no answer came.
        """
        params = [("from", from_code), ("servicetype", SERVICE_TYPE), ("messagetype", message_type)]
        if to:
            params.append(("to", json.dumps(list(to), separators=(",", ":"))))
        params.append(("hash-file", xroad.hash_file(data)))
        body = await self._call(
            "sendEdoc", params=params, content=data + b"\r\n", content_type=OCTET_STREAM, send=True
        )
        doc_id = body.get("DocId") or body.get("docId")
        if not doc_id:
            raise AxisOutcomeUnknownError(
                "Trục liên thông báo nhận gói tin nhưng không trả về mã (DocId). Hãy kiểm tra "
                "danh sách đã gửi trước khi gửi lại.",
                "The axis accepted the packet but returned no DocId. Check the sent list before "
                "sending again.",
            )
        return str(doc_id)

    async def received(self, *, message_type: MessageType) -> list[Received]:
        """Knobsticks addressed to our agencies that we have not acknowledged yet."""
        params = [("servicetype", SERVICE_TYPE), ("messagetype", message_type)]
        body = await self._call("getReceivedEdocList", params=params)
        return [
            Received(
                doc_id=_text(row, "docId", "docid", "id"),
                from_code=_text(row, "from", "fromCode"),
                to_code=_text(row, "to", "toCode"),
                message_type=_text(row, "messageType", "messagetype") or message_type,
                created_time=_time(row.get("created_time", row.get("createdTime"))),
                status=_text(row, "status"),
            )
            for row in _rows(body)
        ]

    async def get_edoc(self, doc_id: str) -> bytes:
        """The packet of one knobstick (the axis sends it base64-encoded)."""
        body = await self._call("getEdoc", params=[("docId", doc_id)], content=b"{}")
        data = body.get("data")
        try:
            if not isinstance(data, str):
                raise binascii.Error("no data")
            return base64.b64decode(data, validate=False)
        except binascii.Error as exc:
            raise AxisUnavailableError(
                f"Trục liên thông trả về gói tin {doc_id} không giải mã được (base64). "
                "Hệ thống sẽ lấy lại sau.",
                f"The axis returned packet {doc_id} in a form that does not decode (base64). "
                "It will be fetched again later.",
            ) from exc

    async def update_status(self, doc_id: str, status: AckStatus, description: str = "") -> None:
        """Acknowledge a knobstick: `done` once stored, `fail` if it cannot be stored."""
        params = [("status", status), ("docId", doc_id)]
        if description:
            params.append(("description", description))
        await self._call("updateStatus", params=params, content=b"{}")

    async def sent(
        self, *, message_type: MessageType, since: datetime, until: datetime
    ) -> list[Sent]:
        """Our deliveries between `since` and `until`, with each recipient's receive status."""
        params = [
            ("servicetype", SERVICE_TYPE),
            ("messagetype", message_type),
            ("fromDate", f"{_in_vietnam(since):{LIST_DATE_FORMAT}}"),
            ("toDate", f"{_in_vietnam(until):{LIST_DATE_FORMAT}}"),
        ]
        body = await self._call("getSentEdocList", params=params)
        return [
            Sent(
                sender_doc_id=_text(row, "senderDocId"),
                receiver_doc_id=_text(row, "receiverDocId"),
                from_code=_text(row, "fromCode", "from"),
                to_code=_text(row, "toCode", "to"),
                title=_text(row, "title"),
                notation=_text(row, "notation"),
                sent_time=_time(row.get("sentTime")),
                received_time=_time(row.get("receivedTime")),
                send_status=_text(row, "sendStatus"),
                receive_status=_text(row, "receiveStatus"),
            )
            for row in _rows(body)
        ]

    async def agencies(self) -> list[AxisAgency]:
        """The whole agency directory (getAgenciesList; over a hundred thousand rows)."""
        body = await self._call("getAgenciesList", params=[])
        return [
            AxisAgency(
                id=_text(row, "id"),
                pid=_text(row, "pid"),
                code=_text(row, "code"),
                name=_text(row, "name"),
                mail=_text(row, "mail"),
            )
            for row in _rows(body)
        ]

    async def synchronize_units(self) -> list[AxisUnit]:
        """Directory changes (getSynchronizeUnit), deletions included."""
        body = await self._call("getSynchronizeUnit", params=[])
        return [
            AxisUnit(
                id=_text(row, "id"),
                pid=_text(row, "pid"),
                code=_text(row, "code"),
                name=_text(row, "name"),
                mail=_text(row, "mail"),
                center_code=_text(row, "centerCode"),
                version=_int(row.get("version")),
                deleted=_bool(row.get("deleted")) is True,
                modify_date=_time(row.get("modifyDate")),
                is_agency=_bool(row.get("isAgency")),
                code102=_text(row, "code102"),
                old_code=_text(row, "oldCode"),
            )
            for row in _rows(body)
        ]

    async def register_agency(
        self,
        *,
        code: str,
        parent_code: str,
        name: str,
        mail: str = "",
        mobile: str = "",
        fax: str = "",
    ) -> None:
        """Register (or update) one of our sending units under our system id.

        `parent_code` is the parent agency's code, or our system id for a top-level unit.
        """
        agency = {
            "id": "",
            "pcode": parent_code,
            "code": code,
            "name": name,
            "mail": mail,
            "mobile": mobile,
            "fax": fax,
        }
        content = json.dumps(agency, ensure_ascii=False, separators=(",", ":")).encode()
        await self._call("registerAgency", params=[], content=content)

    async def _call(
        self,
        path: str,
        *,
        params: list[tuple[str, str]],
        content: bytes = b"",
        content_type: str = JSON,
        send: bool = False,
    ) -> dict[str, Any]:
        headers = self.headers(content_type=content_type, params=params)
        # Values may carry Vietnamese (a description): UTF-8, as the signed JSON is.
        raw_headers = [(name.encode(), value.encode()) for name, value in headers.items()]
        try:
            response = await self._http.post(path, headers=raw_headers, content=content)
        except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            # The request went out; the answer did not come back.
            if send:
                raise _outcome_unknown(_describe(exc)) from exc
            raise _unavailable(path, _describe(exc)) from exc
        except httpx.TransportError as exc:
            raise _unavailable(path, _describe(exc)) from exc
        return _answer(path, response, send=send)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _answer(path: str, response: httpx.Response, *, send: bool) -> dict[str, Any]:
    status = response.status_code
    if send and status == 504:
        # A gateway gave up waiting for the axis, which may have stored the packet meanwhile.
        raise _outcome_unknown(f"HTTP {status}")
    if status >= 500 or status == 429:
        raise _unavailable(path, f"HTTP {status}")
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        if status >= 400:
            raise _refused(path, f"HTTP {status}", response.text[:200])
        if send:
            raise _outcome_unknown(f"HTTP {status}, not JSON")
        raise _unavailable(path, f"HTTP {status}, not JSON")
    outcome = str(body.get("status", "")).upper()
    if outcome == "OK":
        return body
    code = str(body.get("ErrorCode", body.get("errorCode", "")))
    desc = str(body.get("ErrorDesc", body.get("errorDesc", "")))
    if outcome == "FAIL" or status >= 400:
        raise _refused(path, code, desc)
    if send:
        raise _outcome_unknown(f"status {outcome!r}")
    raise _unavailable(path, f"status {outcome!r}")


def _unavailable(path: str, detail: str) -> AxisUnavailableError:
    return AxisUnavailableError(
        f"Không kết nối được trục liên thông văn bản quốc gia ({path}: {detail}). "
        "Hệ thống sẽ tự thử lại sau; nếu lỗi kéo dài, hãy báo quản trị hệ thống.",
        f"The national document axis cannot be reached ({path}: {detail}). It will be tried "
        "again later; if this lasts, tell the system administrator.",
    )


def _outcome_unknown(cause: object) -> AxisOutcomeUnknownError:
    return AxisOutcomeUnknownError(
        "Đã gửi gói tin lên trục liên thông nhưng không nhận được trả lời "
        f"({cause or 'hết thời gian chờ'}): trục có thể đã nhận và chuyển đi. Hệ thống phải "
        "kiểm tra danh sách đã gửi trước khi gửi lại, để cơ quan nhận không nhận hai lần.",
        f"The packet was sent to the axis but no answer came ({cause or 'timed out'}): the axis "
        "may have stored and delivered it. Check the sent list before sending again, so that "
        "the recipient does not get it twice.",
    )


def _refused(path: str, code: str, desc: str) -> AxisRefusedError:
    vi, en = _explain(path, code, desc)
    return AxisRefusedError(vi, en, error_code=code, error_desc=desc)


def _explain(path: str, code: str, desc: str) -> tuple[str, str]:
    said = f"(mã lỗi {code}: {desc})" if desc else f"(mã lỗi {code})"
    said_en = f"(error {code}: {desc})" if desc else f"(error {code})"
    if match := _FROM_NOT_REGISTERED.search(desc):
        unit, system = match["code"], match["system"]
        return (
            f"Trục liên thông từ chối gói tin: mã định danh đơn vị gửi {unit} chưa được đăng ký "
            f"dưới mã hệ thống {system} của cơ quan mình {said}. Quản trị hệ thống cần đăng ký "
            "đơn vị này lên trục hoặc sửa mã đơn vị gửi; gửi lại trước khi sửa sẽ vẫn bị từ chối.",
            f"The axis refused the packet: the sending unit's code {unit} is not registered under "
            f"our system id {system} {said_en}. The administrator must register the unit on the "
            "axis or correct the sending unit's code; resending before that fails again.",
        )
    lowered = desc.lower()
    if "edxml" in lowered:
        return (
            f"Trục liên thông từ chối gói tin vì không phải tệp edXML hợp lệ {said}. Hãy báo "
            "quản trị hệ thống kiểm tra gói tin được tạo ra.",
            f"The axis refused the packet as not a valid edXML file {said_en}. Ask the "
            "administrator to check the packet we built.",
        )
    if "don vi nhan" in lowered:
        return (
            f"Trục liên thông không biết đơn vị nhận {said}. Hãy kiểm tra mã định danh của nơi "
            "nhận trong danh mục trục (có thể đã đổi mã hoặc chưa đăng ký).",
            f"The axis does not know a recipient {said_en}. Check the recipient's code in the "
            "axis directory (it may have changed or not be registered).",
        )
    if "xac thuc" in lowered:
        return (
            f"Trục liên thông không xác thực được hệ thống của cơ quan {said}. Quản trị hệ thống "
            "cần kiểm tra mã hệ thống (systemid) và khóa bí mật được cấp.",
            f"The axis could not authenticate our system {said_en}. The administrator must check "
            "the system id and the secret key issued for it.",
        )
    return (
        f"Trục liên thông từ chối yêu cầu {path} {said}. Gửi lại y nguyên sẽ vẫn bị từ chối; "
        "hãy báo quản trị hệ thống.",
        f"The axis refused the {path} request {said_en}. Repeating it unchanged fails again; "
        "tell the system administrator.",
    )


def _rows(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list):
        return []
    return [row for row in data if isinstance(row, Mapping)]


def _text(row: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = row.get(name)
        if value is not None:
            return str(value)
    return ""


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return None
    return str(value).strip().lower() in {"1", "true", "yes", "y"}


def _time(value: object) -> datetime | None:
    """A time from the axis, read leniently; None when absent or not understood."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        seconds = number / 1000 if number > 1e11 else number  # epoch milliseconds or seconds
        return datetime.fromtimestamp(seconds, UTC).astimezone(VIETNAM)
    text = str(value).strip()
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=VIETNAM)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=VIETNAM) if parsed.tzinfo is None else parsed


def _vietnam_now() -> datetime:
    return datetime.now(VIETNAM)


def _in_vietnam(moment: datetime) -> datetime:
    """The axis' local time (the SDK formats in the JVM's zone, Vietnam's); a naive moment is
    taken to be UTC, as everywhere in the app (`core.clock.as_utc`)."""
    return as_utc(moment).astimezone(VIETNAM)
