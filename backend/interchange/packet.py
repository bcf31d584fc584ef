"""The edXML packet as typed values (QCVN 102:2016): a document packet (`DocumentPacket`, with
its business type: new, recall, update, replace) and what status packets share with it.

Strings are NFC; dates are `date`s (None where a producer wrote none, or an impossible one);
timestamps are naive, in Vietnam time, as on the wire. Attachments hold the file itself: base64
decoded and, when a producer zipped a single file, unzipped.
"""

from __future__ import annotations

import datetime as dt
import enum
import unicodedata
from dataclasses import dataclass, field

from backend.interchange import docid
from backend.interchange.errors import InvalidDocumentIdError


class StatusCode(enum.Enum):
    RECEIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    COMPLETED = "06"
    RECALL_REQUESTED = "13"
    CHANGE_ACCEPTED = "15"
    CHANGE_REFUSED = "16"


class BusinessDocType(enum.IntEnum):
    NEW = 0
    RECALL = 1
    UPDATE = 2
    REPLACE = 3


# The edXML Organization's elements, in the order the vendors write them: the order of
# `Organisation`'s fields.
ORGAN_FIELDS = (
    "OrganId",
    "OrganizationInCharge",
    "OrganName",
    "OrganAdd",
    "Email",
    "Telephone",
    "Fax",
    "Website",
)


@dataclass(frozen=True)
class Organisation:
    organ_id: str
    organization_in_charge: str = ""
    organ_name: str = ""
    organ_add: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True)
class ResponseFor:
    organ_id: str
    code: str
    promulgation_date: dt.date | None
    document_id: str


@dataclass(frozen=True)
class StaffInfo:
    department: str = ""
    staff: str = ""
    mobile: str = ""
    email: str = ""


@dataclass(frozen=True)
class Code:
    number: str
    notation: str

    @property
    def text(self) -> str:
        """Số/ký hiệu as printed: "7816/VPCP-TTĐT"."""
        return f"{self.number}/{self.notation}" if self.number else self.notation


@dataclass(frozen=True)
class DocumentType:
    """`type` 1 (QPPL list) or 2 (administrative list), `detail` the code in it, `name` the
    type's name — which receivers trust first (README §3.5)."""

    type: int
    detail: int
    name: str


# The QCVN 102 SĐ1:2022 code lists as far as the sources show them (README §3.5): A, legal
# normative documents; B, administrative documents. B10–B17 and B27 on were not legible and are
# left out rather than guessed [unverified]: a packet naming one by code alone gets no name.
LEGAL_TYPE_NAMES = {
    1: "Hiến pháp",
    2: "Luật",
    3: "Pháp lệnh",
    4: "Lệnh",
    5: "Nghị quyết",
    6: "Nghị quyết liên tịch",
    7: "Nghị định",
    8: "Quyết định",
    9: "Thông tư",
    10: "Thông tư liên tịch",
    11: "Chỉ thị",
    12: "Bộ luật",
}
ADMINISTRATIVE_TYPE_NAMES = {
    1: "Nghị quyết",
    2: "Quyết định",
    3: "Chỉ thị",
    4: "Quy chế",
    5: "Quy định",
    6: "Thông cáo",
    7: "Thông báo",
    8: "Hướng dẫn",
    9: "Chương trình",
    18: "Công văn",
    19: "Công điện",
    20: "Bản ghi nhớ",
    21: "Bản cam kết",
    22: "Bản thỏa thuận",
    23: "Giấy chứng nhận",
    24: "Giấy ủy quyền",
    25: "Giấy mời",
    26: "Giấy giới thiệu",
}


def type_name(doc_type: DocumentType) -> str:
    """The name of a packet's document type, read as README §3.5 says producers leave it: the
    TypeName first (receivers trust it, the codes are contested); else `TypeDetail` in list A
    when `Type` is 1 or in list B when it is 2; else a `Type` above 2 taken for a list-B code
    (the .NET SDK writes công văn as Type 18). "" when nothing names a type."""
    if doc_type.name:
        return doc_type.name
    if doc_type.type == 1:
        return LEGAL_TYPE_NAMES.get(doc_type.detail, "")
    if doc_type.type == 2:
        return ADMINISTRATIVE_TYPE_NAMES.get(doc_type.detail, "")
    return ADMINISTRATIVE_TYPE_NAMES.get(doc_type.type, "")


@dataclass(frozen=True)
class SignerInfo:
    competence: str = ""
    position: str = ""
    full_name: str = ""


@dataclass(frozen=True)
class OtherInfo:
    priority: int = 0
    sphere: str = ""
    typer_notation: str = ""
    promulgation_amount: int = 1
    page_amount: int = 1
    direction: bool = False
    appendixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TraceHeader:
    organ_id: str
    timestamp: dt.datetime | None


@dataclass(frozen=True)
class Receiver:
    organ_id: str
    receiver_type: int


@dataclass(frozen=True)
class Replacement:
    document_id: str
    organ_ids: tuple[str, ...]


@dataclass(frozen=True)
class Business:
    doc_type: BusinessDocType = BusinessDocType.NEW
    document_id: str = ""
    reason: str = ""
    paper: bool = False
    # Update (type 2): whether the document's data and its recipients changed, and who.
    document_info: bool = False
    document_receiver: bool = False
    receivers: tuple[Receiver, ...] = ()
    # Replace (type 3): the documents this one replaces, and for which recipients.
    replacements: tuple[Replacement, ...] = ()
    staff: StaffInfo = field(default_factory=StaffInfo)


@dataclass(frozen=True)
class Attachment:
    content_id: str  # without a "cid:" prefix
    name: str
    description: str
    content_type: str
    data: bytes
    zipped: bool = False  # it arrived as a single-file zip and was unzipped


@dataclass(frozen=True)
class DocumentPacket:
    sender: Organisation
    recipients: tuple[Organisation, ...]
    document_id: str
    code: Code
    place: str
    promulgated: dt.date | None
    doc_type: DocumentType
    subject: str
    content: str
    signer: SignerInfo
    due_date: dt.date | None
    to_places: tuple[str, ...]
    other: OtherInfo
    response_for: tuple[ResponseFor, ...]
    steering_type: int
    trace: tuple[TraceHeader, ...]
    business: Business
    attachments: tuple[Attachment, ...]
    # What was odd but accepted (an impossible date, a repaired prefix…), for the clerk.
    warnings: tuple[str, ...] = ()

    def key(self) -> str:
        """The matching key (`docid.key_text`): from the DocumentId, else (UUIDs occur) from
        the sender, the date and the số/ký hiệu."""
        try:
            return docid.parse_document_id(self.document_id).key_text()
        except InvalidDocumentIdError:
            return docid.key_text(self.sender.organ_id, self.promulgated, self.code.text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip())
