"""Document packets (QCVN 102:2016 edXML): read every producer's variant, write one form.

Read (README §9.2): through `safexml` only; elements are found by local name, in any order,
with or without a prefix; `Bussiness` or `Business`; dates `yyyy/MM/dd`, `dd/MM/yyyy` or ISO
(an impossible one, like the VPCP samples' `2014/02/30`, becomes None with a warning); all text
NFC; `cid:` dropped when matching manifest References to Attachments; base64 with or without
line breaks; an attachment that is a single-file zip (producers zip, README §2.5) is unzipped,
within size and ratio limits. Refused, with the reason a clerk can pass on: no sender, no
recipient, no số/ký hiệu, a new/update/replace packet without attachments, a Reference without
its Attachment or the reverse, an attachment that is not base64 or is too large, a zip bomb,
bytes before the XML declaration (`safexml`). Undeclared `xlink:`/`edXML:` prefixes are declared
(`safexml`) and said in the packet's warnings.

Written (README §2.1, §9.3): the vendor shape — root `edXML` in the default namespace, the
`edXML:` prefix on every element of the envelope, `AttachmentEncoded` unprefixed outside it —
in the VPCP Java SDK's element order, with every tag the Bkav hub checks for written even when
empty, `yyyy/MM/dd` dates, PDFs not zipped, base64 without line breaks.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import unicodedata
import zipfile
from collections.abc import Iterator

from lxml import etree

from backend.interchange.errors import MalformedPacketError
from backend.interchange.packet import (
    ORGAN_FIELDS,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPacket,
    DocumentType,
    Organisation,
    OtherInfo,
    Receiver,
    Replacement,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)
from backend.interchange.safexml import DEFAULT_MAX_PACKET_BYTES, parse_packet_noting_repairs
from backend.interchange.shape import NS, envelope, organisation, serialise
from backend.interchange.shape import sub as _sub
from backend.interchange.status import StatusPacket, status_from_root

# A zip whose content is this many times its compressed size is refused as a bomb.
MAX_ZIP_RATIO = 200
# One file, as decoded (and unzipped): the packet's own limit unless the caller sets another.
DEFAULT_MAX_ATTACHMENT_BYTES = DEFAULT_MAX_PACKET_BYTES
MiB = 1024 * 1024
_DATE_FORMATS = ("%Y/%m/%d", "%d/%m/%Y", "%Y-%m-%d")
_TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


class AttachmentError(MalformedPacketError):
    """An attachment of the packet cannot be taken in."""


def _refused(vi: str, en: str) -> MalformedPacketError:
    return MalformedPacketError(
        f"Gói tin văn bản không tiếp nhận được: {vi}. Hãy đề nghị cơ quan gửi gửi lại.",
        f"The document packet cannot be taken in: {en}. Ask the sending agency to send it again.",
    )


# Reading ------------------------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _children(parent: etree._Element | None, name: str) -> Iterator[etree._Element]:
    if parent is None:
        return
    for element in parent:
        if isinstance(element.tag, str) and _local(element) == name:
            yield element


def _child(parent: etree._Element | None, *names: str) -> etree._Element | None:
    for name in names:
        for element in _children(parent, name):
            return element
    return None


def _find(root: etree._Element, name: str) -> etree._Element | None:
    for element in root.iter():
        if isinstance(element.tag, str) and _local(element) == name:
            return element
    return None


def _text(parent: etree._Element | None, name: str) -> str:
    element = _child(parent, name)
    if element is None or element.text is None:
        return ""
    return unicodedata.normalize("NFC", str(element.text).strip())


def _int(parent: etree._Element | None, name: str, default: int) -> int:
    text = _text(parent, name)
    try:
        return int(text)
    except ValueError:
        return default


def _bool(parent: etree._Element | None, name: str) -> bool:
    return _text(parent, name).lower() in {"1", "true"}


class _Reader:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def date(self, parent: etree._Element | None, name: str) -> dt.date | None:
        text = _text(parent, name)
        if not text:
            return None
        for fmt in _DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.warnings.append(f"Ngày «{text}» ở {name} không hợp lệ, đã bỏ qua.")
        return None

    def timestamp(self, parent: etree._Element | None, name: str) -> dt.datetime | None:
        text = _text(parent, name)
        if not text:
            return None
        for fmt in _TIME_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt)
            except ValueError:
                continue
        self.warnings.append(f"Thời điểm «{text}» ở {name} không hợp lệ, đã bỏ qua.")
        return None


def _organisation(element: etree._Element) -> Organisation:
    return Organisation(*(_text(element, name) for name in ORGAN_FIELDS))


def _staff(element: etree._Element | None) -> StaffInfo:
    return StaffInfo(*(_text(element, n) for n in ("Department", "Staff", "Mobile", "Email")))


def parse_any(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_PACKET_BYTES,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> DocumentPacket | StatusPacket:
    """A packet, whichever it is: by its content (a `StatusCode` makes a status packet — peers
    send statuses as `messagetype=edoc` too, README §7.17), not by the list it came from."""
    root, repaired = parse_packet_noting_repairs(data, max_bytes=max_bytes)
    if _find(root, "StatusCode") is not None:
        return status_from_root(root)
    return _document(root, repaired, max_attachment_bytes=max_attachment_bytes)


def parse_document(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_PACKET_BYTES,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> DocumentPacket:
    root, repaired = parse_packet_noting_repairs(data, max_bytes=max_bytes)
    return _document(root, repaired, max_attachment_bytes=max_attachment_bytes)


def _document(
    root: etree._Element, repaired: tuple[str, ...], *, max_attachment_bytes: int
) -> DocumentPacket:
    reader = _Reader()
    if repaired:
        reader.warnings.append(
            "Gói tin dùng tiền tố không khai báo ("
            + ", ".join(f"{prefix}:" for prefix in repaired)
            + "); đã tự bổ sung khai báo để đọc."
        )
    header = _find(root, "MessageHeader")
    if header is None:
        raise _refused("thiếu phần MessageHeader", "MessageHeader is missing")
    sender_el = _child(header, "From")
    if sender_el is None or not _text(sender_el, "OrganId"):
        raise _refused("thiếu mã định danh cơ quan gửi (From/OrganId)", "From/OrganId is missing")
    recipients: list[Organisation] = []
    for element in _children(header, "To"):
        organ = _organisation(element)
        if organ.organ_id and organ.organ_id not in {r.organ_id for r in recipients}:
            recipients.append(organ)
    if not recipients:
        raise _refused("thiếu cơ quan nhận (To)", "there is no recipient (To)")
    code_el = _child(header, "Code")
    code = Code(number=_text(code_el, "CodeNumber"), notation=_text(code_el, "CodeNotation"))
    if not code.number and not code.notation:
        raise _refused("thiếu số và ký hiệu văn bản (Code)", "the number and notation are missing")
    promulgation = _child(header, "PromulgationInfo")
    type_el = _child(header, "DocumentType")
    signer_el = _child(header, "SignerInfo")
    other_el = _child(header, "OtherInfo")
    trace_list = _find(root, "TraceHeaderList")
    business = _business(_child(trace_list, "Bussiness", "Business"))
    attachments = _attachments(root, max_bytes=max_attachment_bytes)
    if business.doc_type is not BusinessDocType.RECALL and not attachments:
        raise _refused("không có tệp văn bản đính kèm", "it carries no file")
    return DocumentPacket(
        sender=_organisation(sender_el),
        recipients=tuple(recipients),
        document_id=_text(header, "DocumentId"),
        code=code,
        place=_text(promulgation, "Place"),
        promulgated=reader.date(promulgation, "PromulgationDate"),
        doc_type=DocumentType(
            type=_int(type_el, "Type", 0),
            detail=_int(type_el, "TypeDetail", 0),
            name=_text(type_el, "TypeName"),
        ),
        subject=_text(header, "Subject"),
        content=_text(header, "Content"),
        signer=SignerInfo(
            competence=_text(signer_el, "Competence"),
            position=_text(signer_el, "Position"),
            full_name=_text(signer_el, "FullName"),
        ),
        due_date=reader.date(header, "DueDate"),
        to_places=tuple(
            unicodedata.normalize("NFC", (place.text or "").strip())
            for place in _children(_child(header, "ToPlaces"), "Place")
            if (place.text or "").strip()
        ),
        other=OtherInfo(
            priority=_int(other_el, "Priority", 0),
            sphere=_text(other_el, "SphereOfPromulgation"),
            typer_notation=_text(other_el, "TyperNotation"),
            promulgation_amount=_int(other_el, "PromulgationAmount", 1),
            page_amount=_int(other_el, "PageAmount", 1),
            direction=_bool(other_el, "Direction"),
            appendixes=tuple(
                unicodedata.normalize("NFC", (a.text or "").strip())
                for a in _children(_child(other_el, "Appendixes"), "Appendix")
            ),
        ),
        response_for=tuple(
            ResponseFor(
                organ_id=_text(element, "OrganId"),
                code=_text(element, "Code"),
                promulgation_date=reader.date(element, "PromulgationDate"),
                document_id=_text(element, "DocumentId"),
            )
            for element in _children(header, "ResponseFor")
            if len(element)
        ),
        steering_type=_int(header, "SteeringType", 0),
        trace=tuple(
            TraceHeader(
                organ_id=_text(element, "OrganId"), timestamp=reader.timestamp(element, "Timestamp")
            )
            for element in _children(trace_list, "TraceHeader")
        ),
        business=business,
        attachments=attachments,
        warnings=tuple(reader.warnings),
    )


def _business(element: etree._Element | None) -> Business:
    if element is None:  # VPCP's own fixtures have none: a new document
        return Business()
    kind = _int(element, "BussinessDocType", -1)
    if kind == -1:
        kind = _int(element, "BusinessDocType", 0)
    try:
        doc_type = BusinessDocType(kind)
    except ValueError:
        raise _refused(
            f"loại nghiệp vụ (BussinessDocType) «{kind}» không hợp lệ",
            f"the business type «{kind}» is unknown",
        ) from None
    info = _child(element, "BussinessDocumentInfo", "BusinessDocumentInfo")
    return Business(
        doc_type=doc_type,
        document_id=_text(element, "DocumentId"),
        reason=_text(element, "BussinessDocReason") or _text(element, "BusinessDocReason"),
        paper=_bool(element, "Paper"),
        document_info=_bool(info, "DocumentInfo"),
        document_receiver=_bool(info, "DocumentReceiver"),
        receivers=tuple(
            Receiver(organ_id=_text(r, "OrganId"), receiver_type=_int(r, "ReceiverType", 0))
            for r in _children(_child(info, "ReceiverList"), "Receiver")
        ),
        replacements=tuple(
            Replacement(
                document_id=_text(r, "DocumentId"),
                organ_ids=tuple(
                    unicodedata.normalize("NFC", (o.text or "").strip())
                    for o in _children(_child(r, "OrganIdList"), "OrganId")
                ),
            )
            for r in _children(_child(element, "ReplacementInfoList"), "ReplacementInfo")
        ),
        staff=_staff(_child(element, "StaffInfo")),
    )


def _content_id(text: str) -> str:
    return text[4:] if text.lower().startswith("cid:") else text


def _attachments(root: etree._Element, *, max_bytes: int) -> tuple[Attachment, ...]:
    manifest = _find(root, "edXMLManifest")
    references = {_content_id(_text(r, "ContentId")): r for r in _children(manifest, "Reference")}
    encoded = _find(root, "AttachmentEncoded")
    found: list[Attachment] = []
    seen: set[str] = set()
    for element in _children(encoded, "Attachment"):
        content_id = _content_id(_text(element, "ContentId"))
        name = _text(element, "AttachmentName")
        if content_id not in references:
            raise _refused(
                f"tệp «{name or content_id}» không có trong danh mục tệp (Manifest)",
                f"the file «{name or content_id}» is not listed in the manifest",
            )
        seen.add(content_id)
        payload = _child(element, "ContentTransferEncoded")
        data = _decode(payload.text if payload is not None else "", name, max_bytes)
        zipped = False
        if data.startswith(b"PK\x03\x04"):
            inner = _unzip_single(data, name, max_bytes)
            if inner is not None:
                data, zipped = inner, True
        reference = references[content_id]
        found.append(
            Attachment(
                content_id=content_id,
                name=name or _text(reference, "AttachmentName"),
                description=_text(element, "Description") or _text(reference, "Description"),
                content_type=_text(element, "ContentType") or _text(reference, "ContentType"),
                data=data,
                zipped=zipped,
            )
        )
    missing = [cid for cid in references if cid not in seen]
    if missing:
        raise _refused(
            f"thiếu nội dung tệp «{missing[0]}» ghi trong danh mục tệp",
            f"the file «{missing[0]}» listed in the manifest is missing",
        )
    return tuple(found)


def _decode(text: str | None, name: str, max_bytes: int) -> bytes:
    compact = "".join((text or "").split())
    too_large = AttachmentError(
        f"Tệp «{name}» quá lớn (tối đa {_size(max_bytes, 'byte')}). Hãy đề nghị cơ quan gửi "
        "giảm dung lượng hoặc gửi bằng kênh khác.",
        f"The file «{name}» is too large (at most {_size(max_bytes, 'bytes')}). Ask the "
        "sending agency to make it smaller or to send it another way.",
    )
    if len(compact) > 4 * -(-max_bytes // 3):  # longer than the base64 of max_bytes bytes
        raise too_large
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentError(
            f"Nội dung tệp «{name}» không phải dữ liệu base64 hợp lệ (tệp hỏng hoặc gói tin "
            "mẫu). Hãy đề nghị cơ quan gửi gửi lại.",
            f"The content of the file «{name}» is not valid base64 (a damaged file or a "
            "placeholder). Ask the sending agency to send it again.",
        ) from None
    if not data:
        raise AttachmentError(f"Tệp «{name}» rỗng.", f"The file «{name}» is empty.")
    if len(data) > max_bytes:
        raise too_large
    return data


def _size(limit: int, unit: str) -> str:
    return f"{limit // MiB} MB" if limit >= MiB else f"{limit:,} {unit}"


def _unzip_single(data: bytes, name: str, max_bytes: int) -> bytes | None:
    """The one file inside a producer's zip; None for an archive of several (kept as is)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        return None
    if len(entries) != 1:
        return None
    entry = entries[0]
    if entry.file_size > max_bytes or entry.file_size > MAX_ZIP_RATIO * max(entry.compress_size, 1):
        raise AttachmentError(
            f"Tệp nén «{name}» giải nén ra quá lớn ({entry.file_size:,} byte), bị từ chối.",
            f"The zipped file «{name}» expands too much ({entry.file_size:,} bytes); refused.",
        )
    with archive.open(entry) as stream:
        # The header's size may lie: read one byte past it at most.
        inner = stream.read(entry.file_size + 1)
    if len(inner) > entry.file_size:
        raise AttachmentError(f"Tệp nén «{name}» bị hỏng.", f"The zipped file «{name}» is damaged.")
    return inner


# Writing ------------------------------------------------------------------------------------


def _date(value: dt.date | None) -> str:
    return "" if value is None else f"{value:%Y/%m/%d}"


def _time(value: dt.datetime | None) -> str:
    return "" if value is None else f"{value:%Y/%m/%d %H:%M:%S}"


def build_document(packet: DocumentPacket) -> bytes:
    root, env = envelope()
    header_el = _sub(env, "edXMLHeader")
    header = _sub(header_el, "MessageHeader")
    organisation(header, "From", packet.sender)
    for recipient in packet.recipients:
        organisation(header, "To", recipient)
    _sub(header, "DocumentId", packet.document_id)
    code = _sub(header, "Code")
    _sub(code, "CodeNumber", packet.code.number)
    _sub(code, "CodeNotation", packet.code.notation)
    promulgation = _sub(header, "PromulgationInfo")
    _sub(promulgation, "Place", packet.place)
    _sub(promulgation, "PromulgationDate", _date(packet.promulgated))
    kind = _sub(header, "DocumentType")
    _sub(kind, "Type", str(packet.doc_type.type))
    _sub(kind, "TypeDetail", str(packet.doc_type.detail))
    _sub(kind, "TypeName", packet.doc_type.name)
    _sub(header, "Subject", packet.subject)
    _sub(header, "Content", packet.content)
    signer = _sub(header, "SignerInfo")
    _sub(signer, "Competence", packet.signer.competence)
    _sub(signer, "Position", packet.signer.position)
    _sub(signer, "FullName", packet.signer.full_name)
    _sub(header, "DueDate", _date(packet.due_date))
    other = _sub(header, "OtherInfo")
    _sub(other, "Priority", str(packet.other.priority))
    _sub(other, "SphereOfPromulgation", packet.other.sphere)
    _sub(other, "TyperNotation", packet.other.typer_notation)
    _sub(other, "PromulgationAmount", str(packet.other.promulgation_amount))
    _sub(other, "PageAmount", str(packet.other.page_amount))
    _sub(other, "Direction", "true" if packet.other.direction else "false")
    appendixes = _sub(other, "Appendixes")
    for title in packet.other.appendixes:
        _sub(appendixes, "Appendix", title)
    for answered in packet.response_for:
        response = _sub(header, "ResponseFor")
        _sub(response, "OrganId", answered.organ_id)
        _sub(response, "Code", answered.code)
        _sub(response, "PromulgationDate", _date(answered.promulgation_date))
        _sub(response, "DocumentId", answered.document_id)
    _sub(header, "SteeringType", str(packet.steering_type))
    places = _sub(header, "ToPlaces")
    for place in packet.to_places:
        _sub(places, "Place", place)
    traces = _sub(header_el, "TraceHeaderList")
    for trace in packet.trace:
        element = _sub(traces, "TraceHeader")
        _sub(element, "OrganId", trace.organ_id)
        _sub(element, "Timestamp", _time(trace.timestamp))
    _write_business(traces, packet.business)
    manifest = _sub(_sub(env, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    for item in packet.attachments:
        reference = _sub(manifest, "Reference")
        _sub(reference, "ContentId", f"cid:{item.content_id}")
        _sub(reference, "ContentType", item.content_type)
        _sub(reference, "Description", item.description)
        _sub(reference, "AttachmentName", item.name)
    encoded = _sub(root, "AttachmentEncoded")
    for item in packet.attachments:
        attachment = _sub(encoded, "Attachment")
        _sub(attachment, "ContentId", f"cid:{item.content_id}")
        _sub(attachment, "AttachmentName", item.name)
        _sub(attachment, "Description", item.description)
        _sub(attachment, "ContentType", item.content_type)
        payload = etree.SubElement(
            attachment, f"{{{NS}}}ContentTransferEncoded", nsmap={"edXML": NS}
        )
        payload.text = base64.b64encode(item.data).decode("ascii")
    return serialise(root)


def _write_business(parent: etree._Element, business: Business) -> None:
    element = _sub(parent, "Bussiness")
    _sub(element, "DocumentId", business.document_id)
    _sub(element, "BussinessDocType", str(int(business.doc_type)))
    _sub(element, "BussinessDocReason", business.reason)
    _sub(element, "Paper", "1" if business.paper else "0")
    if business.doc_type is BusinessDocType.UPDATE:
        info = _sub(element, "BussinessDocumentInfo")
        _sub(info, "DocumentInfo", "1" if business.document_info else "0")
        _sub(info, "DocumentReceiver", "1" if business.document_receiver else "0")
        receivers = _sub(info, "ReceiverList")
        for receiver in business.receivers:
            item = _sub(receivers, "Receiver")
            _sub(item, "OrganId", receiver.organ_id)
            _sub(item, "ReceiverType", str(receiver.receiver_type))
    if business.replacements:
        replacements = _sub(element, "ReplacementInfoList")
        for replaced in business.replacements:
            item = _sub(replacements, "ReplacementInfo")
            _sub(item, "DocumentId", replaced.document_id)
            organs = _sub(item, "OrganIdList")
            for organ_id in replaced.organ_ids:
                _sub(organs, "OrganId", organ_id)
    staff = _sub(element, "StaffInfo")
    _sub(staff, "Department", business.staff.department)
    _sub(staff, "Staff", business.staff.staff)
    _sub(staff, "Email", business.staff.email)
    _sub(staff, "Mobile", business.staff.mobile)
