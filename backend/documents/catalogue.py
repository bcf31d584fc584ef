"""Decree 30/2020/NĐ-CP vocabularies: document types, urgency, sources, signing competence."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    code: str
    name: str  # Vietnamese, as printed
    abbreviation: str  # "" for công văn and thư công
    legal: bool = False  # văn bản quy phạm pháp luật: its own number series

    @property
    def series(self) -> str:
        """Outgoing number series: administrative documents share one; each legal type its own."""
        return f"qppl-{self.code}" if self.legal else "hanh-chinh"


# The 29 administrative types (Decree 30, Appendix III), in the decree's order.
ADMINISTRATIVE = [
    DocumentType("NQ", "Nghị quyết", "NQ"),
    DocumentType("QD", "Quyết định", "QĐ"),
    DocumentType("CT", "Chỉ thị", "CT"),
    DocumentType("QC", "Quy chế", "QC"),
    DocumentType("QYD", "Quy định", "QyĐ"),
    DocumentType("TC", "Thông cáo", "TC"),
    DocumentType("TB", "Thông báo", "TB"),
    DocumentType("HD", "Hướng dẫn", "HD"),
    DocumentType("CTR", "Chương trình", "CTr"),
    DocumentType("KH", "Kế hoạch", "KH"),
    DocumentType("PA", "Phương án", "PA"),
    DocumentType("DA", "Đề án", "ĐA"),
    DocumentType("DAN", "Dự án", "DA"),
    DocumentType("BC", "Báo cáo", "BC"),
    DocumentType("BB", "Biên bản", "BB"),
    DocumentType("TTR", "Tờ trình", "TTr"),
    DocumentType("HDO", "Hợp đồng", "HĐ"),
    DocumentType("CV", "Công văn", ""),
    DocumentType("CD", "Công điện", "CĐ"),
    DocumentType("BGN", "Bản ghi nhớ", "BGN"),
    DocumentType("BTT", "Bản thỏa thuận", "BTT"),
    DocumentType("GUQ", "Giấy ủy quyền", "GUQ"),
    DocumentType("GM", "Giấy mời", "GM"),
    DocumentType("GGT", "Giấy giới thiệu", "GGT"),
    DocumentType("GNP", "Giấy nghỉ phép", "GNP"),
    DocumentType("PG", "Phiếu gửi", "PG"),
    DocumentType("PC", "Phiếu chuyển", "PC"),
    DocumentType("PB", "Phiếu báo", "PB"),
    DocumentType("THC", "Thư công", ""),
]
# Legal normative documents a provincial People's Committee and Council issue.
LEGAL = [
    DocumentType("QPPL-NQ", "Nghị quyết (quy phạm pháp luật)", "NQ", legal=True),
    DocumentType("QPPL-QD", "Quyết định (quy phạm pháp luật)", "QĐ", legal=True),
]
TYPES = {t.code: t for t in ADMINISTRATIVE + LEGAL}


class Direction(enum.StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"
    INTERNAL = "internal"


class Urgency(enum.IntEnum):
    """edXML Priority values."""

    THUONG = 0
    KHAN = 1
    THUONG_KHAN = 2
    HOA_TOC = 3
    HOA_TOC_HEN_GIO = 4

    @property
    def label(self) -> str:
        return URGENCY_LABELS[self]


URGENCY_LABELS = {
    Urgency.THUONG: "Thường",
    Urgency.KHAN: "Khẩn",
    Urgency.THUONG_KHAN: "Thượng khẩn",
    Urgency.HOA_TOC: "Hỏa tốc",
    Urgency.HOA_TOC_HEN_GIO: "Hỏa tốc hẹn giờ",
}


class Source(enum.StrEnum):
    AXIS = "truc-lien-thong"
    POST = "buu-dien"
    HAND = "truc-tiep"
    EMAIL = "email"
    SCAN = "scan"


SOURCE_LABELS = {
    Source.AXIS: "Trục liên thông",
    Source.POST: "Bưu điện",
    Source.HAND: "Trực tiếp",
    Source.EMAIL: "Thư điện tử",
    Source.SCAN: "Số hóa bản giấy",
}

COMPETENCE = ("", "TM.", "KT.", "TUQ.", "TL.")

# Độ mật: state-secret documents never enter this system.
SECRET_LEVELS = ("Mật", "Tối mật", "Tuyệt mật")


class Status(enum.StrEnum):
    """Document status; the codes of the national axis where one exists (edXML StatusCode)."""

    DRAFT = "draft"
    RETURNED = "02"
    REGISTERED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    COMPLETED = "06"
    SIGNED = "signed"
    ISSUED = "issued"
    # A received document its sender recalled: cancelled here, kept (Decree 30 Art. 18.4).
    RECALLED = "recalled"


# The status names lists and the dashboard show (domain.md §status codes).
STATUS_LABELS = {
    Status.REGISTERED: "Đã vào sổ",
    Status.ASSIGNED: "Đã phân công",
    Status.IN_PROGRESS: "Đang xử lý",
    Status.COMPLETED: "Hoàn thành",
    Status.RETURNED: "Trả lại",
    Status.DRAFT: "Dự thảo",
    Status.SIGNED: "Đã ký",
    Status.ISSUED: "Đã phát hành",
    Status.RECALLED: "Bị thu hồi",
}


# Số và ký hiệu: "123/QĐ-UBND", "2491/STC-BCTC", "15/2025/QĐ-UBND" (legal: number/year/type-body).
NUMBER_SYMBOL = re.compile(
    r"^(?P<number>\d{1,6})(?:/(?P<year>\d{4}))?/(?P<symbol>[0-9A-Za-zĐđ][0-9A-Za-zĐđ.\-]*)$"
)


def split_number_symbol(text: str) -> tuple[int, str]:
    """'123/QĐ-UBND' → (123, 'QĐ-UBND'); raises ValueError when it is not of that shape."""
    match = NUMBER_SYMBOL.match(re.sub(r"\s+", "", text.removeprefix("Số:").strip()))
    if match is None:
        raise ValueError(text)
    symbol = match.group("symbol")
    if match.group("year"):
        symbol = f"{match.group('year')}/{symbol}"
    return int(match.group("number")), symbol
