"""The incoming-registration form: parsed from submitted fields, validated, Vietnamese messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from backend.core.errors import ValidationError
from backend.documents import catalogue, textnorm
from backend.documents.intake_errors import SecretDocumentError
from backend.organisations import AGENCY_CODE


@dataclass(frozen=True)
class IncomingForm:
    type_code: str
    subject: str
    number: int | None
    symbol: str
    issue_date: date | None
    issuer_name: str
    issuer_code: str = ""
    issue_place: str = ""
    signer_name: str = ""
    signer_title: str = ""
    signer_competence: str = ""
    urgency: catalogue.Urgency = catalogue.Urgency.THUONG
    deadline: date | None = None
    source: catalogue.Source = catalogue.Source.HAND
    recipients: str = ""

    @property
    def issuer_key(self) -> str:
        return self.issuer_code or textnorm.fold(self.issuer_name)


class FormErrors(ValidationError):
    """Every field problem at once, so the clerk fixes them in one pass."""

    def __init__(self, problems: dict[str, tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(
            "Vui lòng kiểm tra lại: " + "; ".join(vi for vi, _ in problems.values()),
            "Please check: " + "; ".join(en for _, en in problems.values()),
        )


def _date(raw: str, field: str, problems: dict[str, tuple[str, str]]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    for parse in (date.fromisoformat, _dmy):
        try:
            return parse(raw)
        except ValueError:
            continue
    problems[field] = (f"ngày “{raw}” không hợp lệ (dd/mm/yyyy)", f"invalid date {raw!r}")
    return None


def _dmy(raw: str) -> date:
    day, month, year = raw.replace("-", "/").replace(".", "/").split("/")
    return date(int(year), int(month), int(day))


def parse_incoming(data: Mapping[str, str], *, today: date) -> IncomingForm:
    """Validate submitted fields. Secret documents are refused before anything else."""
    secrecy = data.get("confidentiality", "").strip()
    if secrecy:
        matches = [level for level in catalogue.SECRET_LEVELS if level.lower() == secrecy.lower()]
        raise SecretDocumentError(matches[0] if matches else secrecy)

    problems: dict[str, tuple[str, str]] = {}
    type_code = data.get("type_code", "").strip()
    if type_code not in catalogue.TYPES:
        problems["type_code"] = ("chưa chọn loại văn bản", "choose a document type")
    subject = " ".join(data.get("subject", "").split())
    if len(subject) < 5:
        problems["subject"] = ("trích yếu quá ngắn", "the subject is too short")
    number: int | None = None
    symbol = ""
    raw_number = data.get("number_symbol", "").strip()
    if raw_number:
        try:
            number, symbol = catalogue.split_number_symbol(raw_number)
        except ValueError:
            problems["number_symbol"] = (
                f"số và ký hiệu “{raw_number}” không đúng dạng (ví dụ 123/QĐ-UBND)",
                f"number and symbol {raw_number!r} not like 123/QĐ-UBND",
            )
    issue_date = _date(data.get("issue_date", ""), "issue_date", problems)
    if issue_date and issue_date > today:
        problems["issue_date"] = ("ngày ban hành ở tương lai", "the issue date is in the future")
    deadline = _date(data.get("deadline", ""), "deadline", problems)
    issuer_name = " ".join(data.get("issuer_name", "").split())
    if not issuer_name:
        problems["issuer_name"] = ("chưa nhập cơ quan ban hành", "enter the issuing agency")
    issuer_code = data.get("issuer_code", "").strip().upper()
    if issuer_code and not AGENCY_CODE.match(issuer_code):
        problems["issuer_code"] = (
            "mã định danh không đúng dạng NNN.NN.NN.Xnn",
            "the agency code is not NNN.NN.NN.Xnn",
        )
    competence = data.get("signer_competence", "").strip()
    if competence not in catalogue.COMPETENCE:
        problems["signer_competence"] = ("thẩm quyền ký không hợp lệ", "invalid signing authority")
    try:
        urgency = catalogue.Urgency(int(data.get("urgency", "0") or 0))
    except ValueError:
        problems["urgency"] = ("độ khẩn không hợp lệ", "invalid urgency")
        urgency = catalogue.Urgency.THUONG
    try:
        source = catalogue.Source(data.get("source", catalogue.Source.HAND.value))
    except ValueError:
        problems["source"] = ("nguồn văn bản không hợp lệ", "invalid source")
        source = catalogue.Source.HAND
    if problems:
        raise FormErrors(problems)
    return IncomingForm(
        type_code=type_code,
        subject=subject,
        number=number,
        symbol=symbol,
        issue_date=issue_date,
        issuer_name=issuer_name,
        issuer_code=issuer_code,
        issue_place=data.get("issue_place", "").strip(),
        signer_name=data.get("signer_name", "").strip(),
        signer_title=data.get("signer_title", "").strip(),
        signer_competence=competence,
        urgency=urgency,
        deadline=deadline,
        source=source,
        recipients=data.get("recipients", "").strip(),
    )
