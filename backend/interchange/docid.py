"""DocumentId, the cross-system business key: `OrganId,yyyy/MM/dd,Number/Notation`.

Example: `000.00.11.H53,2020/10/30,2491/STC-BCTC`. The ký hiệu may itself contain `/` and Vietnamese
letters, so the id is split on the first two commas and the code on its first `/`. Producers also
write the date as `yyyy-MM-dd` (NETQN's status builder); both are accepted and `yyyy/MM/dd` is
written.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from backend.interchange.errors import InvalidDocumentIdError

_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d")


@dataclass(frozen=True)
class DocumentId:
    organ_id: str
    promulgated: dt.date
    number: str
    notation: str

    def __str__(self) -> str:
        return f"{self.organ_id},{self.promulgated:%Y/%m/%d},{self.number}/{self.notation}"

    def key(self) -> tuple[str, dt.date, str]:
        """The key two systems' ids are compared on: organ, date, upper-cased NFC số/ký hiệu."""
        code = unicodedata.normalize("NFC", f"{self.number}/{self.notation}").upper()
        return (self.organ_id.strip().upper(), self.promulgated, code)

    def same_document(self, other: DocumentId) -> bool:
        return self.key() == other.key()

    def key_text(self) -> str:
        return key_text(self.organ_id, self.promulgated, f"{self.number}/{self.notation}")


def key_text(organ_id: str, promulgated: dt.date | None, number_symbol: str) -> str:
    """The matching key as one string (`ORGAN|yyyy-mm-dd|NUMBER/NOTATION`, NFC, upper case), for
    a column; also made from the fields themselves when a producer's DocumentId does not parse."""
    code = unicodedata.normalize("NFC", number_symbol.strip()).upper()
    day = promulgated.isoformat() if promulgated is not None else ""
    return f"{organ_id.strip().upper()}|{day}|{code}"


def parse_document_id(text: str) -> DocumentId:
    """Parse a DocumentId; raise `InvalidDocumentIdError` (the caller then uses other fields)."""
    value = unicodedata.normalize("NFC", text.strip())
    parts = value.split(",", 2)
    if len(parts) != 3:
        raise _invalid(text)
    organ_id, date_text, code = (part.strip() for part in parts)
    number, slash, notation = code.partition("/")
    if not organ_id or not slash or not number.strip() or not notation.strip():
        raise _invalid(text)
    for fmt in _DATE_FORMATS:
        try:
            promulgated = dt.datetime.strptime(date_text, fmt).date()
        except ValueError:
            continue
        return DocumentId(organ_id, promulgated, number.strip(), notation.strip())
    raise _invalid(text)


def _invalid(text: str) -> InvalidDocumentIdError:
    shown = text if len(text) <= 120 else text[:120] + "…"
    return InvalidDocumentIdError(
        f"Mã văn bản liên thông (DocumentId) không hợp lệ: «{shown}». Mã đúng có dạng "
        "«Mã cơ quan,năm/tháng/ngày,Số/Ký hiệu». Hãy báo cơ quan gửi để gửi lại gói tin.",
        f"The exchange DocumentId is not valid: «{shown}». It must look like "
        "«OrganId,yyyy/MM/dd,Number/Notation». Ask the sending agency to send the packet again.",
    )
