"""Status packets (QCVN 102:2016 §3.2): parse the producers' variants, build one canonical form.

Accepted: `MessageHeader` or `Status` as the header element, any namespace prefix (or none),
ResponseFor children in any order, a one-digit StatusCode ("5"), dates as `yyyy/MM/dd`,
`dd/MM/yyyy` or ISO, non-NFC Vietnamese (normalised to NFC). Written: `MessageHeader`, the `edXML:`
prefix on every element, children in the VPCP order, two-digit codes, `yyyy/MM/dd` dates.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from lxml import etree

from backend.interchange.errors import MalformedPacketError
from backend.interchange.packet import (
    ORGAN_FIELDS,
    Organisation,
    ResponseFor,
    StaffInfo,
    StatusCode,
)
from backend.interchange.safexml import parse_packet
from backend.interchange.shape import envelope, organisation, serialise, sub

__all__ = [
    "Organisation",
    "ResponseFor",
    "StaffInfo",
    "StatusCode",
    "StatusPacket",
    "build_status",
    "parse_status",
    "status_from_root",
]


@dataclass(frozen=True)
class StatusPacket:
    sender: Organisation
    response_for: ResponseFor
    staff: StaffInfo
    code: StatusCode
    description: str
    timestamp: dt.datetime


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    for element in parent:
        if isinstance(element.tag, str) and _local(element) == name:
            return element
    return None


def _text(parent: etree._Element | None, name: str) -> str:
    element = None if parent is None else _child(parent, name)
    if element is None or element.text is None:
        return ""
    return unicodedata.normalize("NFC", str(element.text).strip())


def _find(root: etree._Element, name: str) -> etree._Element | None:
    for element in root.iter():
        if isinstance(element.tag, str) and _local(element) == name:
            return element
    return None


def _refused(what: str, what_en: str) -> MalformedPacketError:
    return MalformedPacketError(
        f"Gói tin trạng thái không đọc được: {what}. Hãy báo cơ quan gửi để gửi lại.",
        f"The status packet cannot be read: {what_en}. Ask the sending agency to send it again.",
    )


def parse_date(text: str) -> dt.date:
    for fmt in ("%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise _refused(f"ngày «{text}» sai định dạng", f"the date «{text}» has an unknown format")


def parse_timestamp(text: str) -> dt.datetime:
    for fmt in ("%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise _refused(
        f"thời điểm «{text}» sai định dạng", f"the timestamp «{text}» has an unknown format"
    )


def parse_status(data: bytes) -> StatusPacket:
    return status_from_root(parse_packet(data))


def status_from_root(root: etree._Element) -> StatusPacket:
    """A status packet from its parsed XML (`safexml.parse_packet`), for a caller that has read
    the packet already to see which kind it is."""
    header = _find(root, "MessageHeader")
    if header is None:
        header = _find(root, "Status")
    if header is None:
        raise _refused("thiếu phần MessageHeader", "MessageHeader is missing")
    code_text = _text(header, "StatusCode")
    try:
        code = StatusCode(code_text.zfill(2))
    except ValueError:
        raise _refused(
            f"mã trạng thái «{code_text}» không hợp lệ", f"the status code «{code_text}» is unknown"
        ) from None
    sender_el = _child(header, "From")
    response_el = _child(header, "ResponseFor")
    if sender_el is None or response_el is None:
        raise _refused("thiếu From hoặc ResponseFor", "From or ResponseFor is missing")
    date_text = _text(response_el, "PromulgationDate")
    staff_el = _child(header, "StaffInfo")
    return StatusPacket(
        sender=Organisation(*(_text(sender_el, name) for name in ORGAN_FIELDS)),
        response_for=ResponseFor(
            organ_id=_text(response_el, "OrganId"),
            code=_text(response_el, "Code"),
            promulgation_date=parse_date(date_text) if date_text else None,
            document_id=_text(response_el, "DocumentId"),
        ),
        staff=StaffInfo(*(_text(staff_el, n) for n in ("Department", "Staff", "Mobile", "Email"))),
        code=code,
        description=_text(header, "Description"),
        timestamp=parse_timestamp(_text(header, "Timestamp")),
    )


def build_status(packet: StatusPacket) -> bytes:
    root, envelope_el = envelope()
    header = sub(sub(envelope_el, "edXMLHeader"), "MessageHeader")
    organisation(header, "From", packet.sender)
    response = sub(header, "ResponseFor")
    sub(response, "OrganId", packet.response_for.organ_id)
    sub(response, "Code", packet.response_for.code)
    date = packet.response_for.promulgation_date
    sub(response, "PromulgationDate", "" if date is None else f"{date:%Y/%m/%d}")
    sub(response, "DocumentId", packet.response_for.document_id)
    staff = sub(header, "StaffInfo")
    sub(staff, "Department", packet.staff.department)
    sub(staff, "Staff", packet.staff.staff)
    sub(staff, "Mobile", packet.staff.mobile)
    sub(staff, "Email", packet.staff.email)
    sub(header, "StatusCode", packet.code.value)
    sub(header, "Description", packet.description)
    sub(header, "Timestamp", f"{packet.timestamp:%Y/%m/%d %H:%M:%S}")
    return serialise(root)
