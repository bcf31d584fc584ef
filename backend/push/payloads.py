"""What a notice says: short, meaningful Vietnamese, the document link, how urgent it is.

A payload is small JSON the service worker turns into a notification: `id` (the outbox row, so
the worker may repeat a send and the service worker still shows it once), `title`, `body`, `url`
and `tag` (the Topic: a newer notice about the same document replaces the older one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from backend.core.clock import VIETNAM
from backend.core.urls import Page
from backend.documents import catalogue

# Hỏa tốc / Thượng khẩn: the push service should wake the device now, and a notice that waited
# an hour is no longer worth showing.
URGENT_TTL = 3600
NORMAL_TTL = 86400


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    # The page the notification opens (made a path when it is sent).
    page: Page
    topic: str
    urgency: str = "normal"  # RFC 8030 Urgency: very-low | low | normal | high
    ttl: int = NORMAL_TTL


def _day(deadline: datetime | date | None) -> str:
    """ "17:00 27/11/2026" in Hà Nội time; a bare date as "27/11/2026"."""
    if deadline is None:
        return "không có hạn"
    if isinstance(deadline, datetime):
        return deadline.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
    return deadline.strftime("%d/%m/%Y")


def _urgent(urgency: int) -> bool:
    return urgency >= catalogue.Urgency.THUONG_KHAN


def _document(document_id: int) -> Page:
    return Page("document", {"document_id": document_id})


def document_topic(document_id: int) -> str:
    # RFC 8030: at most 32 characters of the URL-safe base64 alphabet.
    return f"doc{document_id}"


def assignment(
    *, document_id: int, subject: str, urgency: int, part: str, deadline: datetime | date | None
) -> Notice:
    role = {"lead": "Chủ trì", "cooperate": "Phối hợp", "inform": "Để biết"}.get(part, part)
    prefix = f"Văn bản {catalogue.Urgency(urgency).label}" if urgency else "Văn bản mới"
    return Notice(
        title=f"{prefix}: {_short(subject)}",
        body=f"{role} — hạn xử lý {_day(deadline)}",
        page=_document(document_id),
        topic=document_topic(document_id),
        urgency="high" if _urgent(urgency) else "normal",
        ttl=URGENT_TTL if _urgent(urgency) else NORMAL_TTL,
    )


def returned(*, document_id: int, subject: str, reason: str) -> Notice:
    return Notice(
        title=f"Bị trả lại: {_short(subject)}",
        body=f"Lý do: {_short(reason, 100)}",
        page=_document(document_id),
        topic=document_topic(document_id),
    )


def recalled(*, document_id: int, subject: str, sender: str) -> Notice:
    """To everyone handling a received document its sender took back (Decree 30 Art. 18.4)."""
    return Notice(
        title=f"Văn bản bị thu hồi: {_short(subject)}",
        body=f"{_short(sender, 80)} đã thu hồi văn bản; dừng xử lý văn bản này.",
        page=_document(document_id),
        topic=document_topic(document_id),
    )


def revised(*, document_id: int, subject: str, sender: str) -> Notice:
    """To everyone handling a received document its sender updated (the clerk accepted it)."""
    return Notice(
        title=f"Văn bản được cập nhật: {_short(subject)}",
        body=f"{_short(sender, 80)} đã cập nhật văn bản; hãy xem bản mới.",
        page=_document(document_id),
        topic=document_topic(document_id),
    )


def draft_returned(*, document_id: int, subject: str, leader_name: str, reason: str) -> Notice:
    """To the author: the leader sent the draft back; the link opens the author's draft page."""
    return Notice(
        title=f"Dự thảo bị trả lại: {_short(subject)}",
        body=f"{_short(leader_name, 60)}: {_short(reason, 100)}",
        page=Page("draft_view", {"document_id": document_id}),
        topic=document_topic(document_id),
    )


def issued(*, document_id: int, subject: str, number_symbol: str, urgency: int) -> Notice:
    """To the author: the clerk numbered, sealed and issued the document."""
    return Notice(
        title=f"Đã phát hành văn bản số {number_symbol}",
        body=_short(subject, 100),
        page=Page("draft_view", {"document_id": document_id}),
        topic=document_topic(document_id),
        urgency="high" if _urgent(urgency) else "normal",
        ttl=URGENT_TTL if _urgent(urgency) else NORMAL_TTL,
    )


def completed(*, document_id: int, subject: str) -> Notice:
    return Notice(
        title=f"Đã hoàn thành: {_short(subject)}",
        body="Chủ trì đã báo cáo kết quả xử lý.",
        page=_document(document_id),
        topic=document_topic(document_id),
    )


def signed(*, document_id: int, subject: str, urgency: int, signer_name: str) -> Notice:
    """To the drafter and the agency's clerks: the leader signed, it can be numbered and issued."""
    return Notice(
        title=f"Văn bản đã được ký: {_short(subject)}",
        body=f"{_short(signer_name, 60)} đã ký số. Văn thư cấp số và phát hành.",
        page=_document(document_id),
        topic=document_topic(document_id),
        urgency="high" if _urgent(urgency) else "normal",
        ttl=URGENT_TTL if _urgent(urgency) else NORMAL_TTL,
    )


def digest(
    *, day: date, due_today: int, overdue: int, unit_due_today: int = 0, unit_overdue: int = 0
) -> Notice:
    parts = []
    if due_today:
        parts.append(f"{due_today} việc đến hạn hôm nay")
    if overdue:
        parts.append(f"{overdue} việc quá hạn")
    body = ", ".join(parts) + "." if parts else ""
    unit = []
    if unit_due_today:
        unit.append(f"{unit_due_today} việc đến hạn hôm nay")
    if unit_overdue:
        unit.append(f"{unit_overdue} việc quá hạn")
    if unit:
        body = f"{body} Đơn vị: {', '.join(unit)}.".strip()
    return Notice(
        title=f"Việc cần xử lý ngày {day.strftime('%d/%m')}",
        body=body,
        page=Page("documents", query="inbox=viec-cua-toi"),
        topic=f"digest{day.strftime('%Y%m%d')}",
        urgency="normal",
        ttl=12 * 3600,
    )


def escalation(
    *,
    document_id: int,
    subject: str,
    assignee: str,
    deadline: datetime | date | None,
    days_late: int,
) -> Notice:
    return Notice(
        title=f"Quá hạn {days_late} ngày: {_short(subject)}",
        body=f"Chủ trì: {assignee} — hạn xử lý {_day(deadline)}",
        page=_document(document_id),
        topic=document_topic(document_id),
        urgency="high",
        ttl=NORMAL_TTL,
    )


def direction_requested(*, document_id: int, subject: str, urgency: int, by: str) -> Notice:
    prefix = f"Văn bản {catalogue.Urgency(urgency).label}" if urgency else "Xin ý kiến chỉ đạo"
    return Notice(
        title=f"{prefix}: {_short(subject)}",
        body=f"{by} trình, chờ lãnh đạo cho ý kiến và phân công.",
        page=_document(document_id),
        topic=document_topic(document_id),
        urgency="high" if _urgent(urgency) else "normal",
        ttl=URGENT_TTL if _urgent(urgency) else NORMAL_TTL,
    )


def test_notice() -> Notice:
    return Notice(
        title="Thông báo thử",
        body="Thiết bị này đã nhận được thông báo của eOffice.",
        page=Page("account_notifications"),
        topic="test",
        urgency="high",
        ttl=300,
    )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def covering(*, absent_name: str, period: str, deputy: bool) -> Notice:
    """An absence was marked: to the deputy (whose queue now holds the absent person's) and to
    the absent person (who is told who covers)."""
    if deputy:
        title = f"Xử lý thay {_short(absent_name, 60)}"
        body = f"Từ {period}, văn bản chờ ký và văn bản trình của đồng chí đến với bạn."
    else:
        title = f"Đã ghi vắng mặt {period}"
        body = f"{_short(absent_name, 60)} xử lý thay văn bản chờ ký và văn bản trình."
    return Notice(
        title=title,
        body=body,
        page=Page("sign_queue"),
        topic="absence",
        urgency="normal",
        ttl=NORMAL_TTL,
    )


def covering_ended(*, absent_name: str) -> Notice:
    return Notice(
        title=f"Kết thúc xử lý thay {_short(absent_name, 60)}",
        body="Văn bản chờ ký và văn bản trình đã trở về người được trình.",
        page=Page("sign_queue"),
        topic="absence",
        urgency="normal",
        ttl=NORMAL_TTL,
    )


def draft_for_absent(*, document_id: int, subject: str, urgency: int, absent_name: str) -> Notice:
    """To the deputy: a draft for someone away waits in the deputy's queue."""
    return Notice(
        title=f"Chờ ký (thay {_short(absent_name, 40)}): {_short(subject)}",
        body="Dự thảo trình người đang vắng mặt; đồng chí xem và xử lý thay.",
        page=Page("sign_document", {"document_id": document_id}),
        topic=document_topic(document_id),
        urgency="high" if _urgent(urgency) else "normal",
        ttl=URGENT_TTL if _urgent(urgency) else NORMAL_TTL,
    )
