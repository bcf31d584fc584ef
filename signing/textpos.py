"""Where a Decree 30 draft's own lines are, found from the text of its pages (PDFium character
boxes), so that the number, the date and the signatures go where the decree puts them:

* page 1, ``Số: …/…``: everything after ``Số:`` (number and symbol are written there from the
  register, so the page shows the issuing agency's symbol even if the drafter typed another);
* page 1, ``<địa danh>, ngày … tháng … năm …``: from ``ngày`` to the end of the line (or the whole
  line when the place is left blank too);
* last page, signer block: the lowest line in the right half of the page is the printed name,
  the right-half line above it the signer's title; the leader's signature goes in the space
  between them, the seal over the left third of it.

Lines are read as the page is shown: a page turned by ``/Rotate`` is analysed upright, and the
boxes are handed back in the page's own (unrotated) PDF coordinates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import ImageFont

from signing.appearance import DEFAULT_FONT, Box
from signing.errors import SigningError

__all__ = [
    "DraftPositions",
    "PageGeometry",
    "TextLine",
    "find_positions",
    "find_signer_block",
    "page_lines",
    "to_display",
    "to_user",
]

# Characters a drafter uses to leave a gap: dots, ellipsis, underscores, spaces.
PLACEHOLDER = set(". …_\u00a0\t")
_NUMBER = re.compile(r"S[ốỐ]\s*:", re.IGNORECASE)
_DATE = re.compile(r"ngày[\s.…_\d]*tháng[\s.…_\d]*năm[\s.…_\d]*$", re.IGNORECASE)
MIN_SIGNATURE_GAP = 36.0  # points between title and name: at least about 13 mm
LEADER_WIDTH = 160.0
SEAL_SIZE = 100.0  # about 35 mm


@dataclass(frozen=True)
class PageGeometry:
    """A page's media box and ``/Rotate`` (0, 90, 180, 270)."""

    media: Box
    rotation: int

    @property
    def display_size(self) -> tuple[float, float]:
        width, height = self.media[2] - self.media[0], self.media[3] - self.media[1]
        return (height, width) if self.rotation in (90, 270) else (width, height)


def _point_to_display(geo: PageGeometry, x: float, y: float) -> tuple[float, float]:
    x0, y0, x1, y1 = geo.media
    w, h = x1 - x0, y1 - y0
    u, v = x - x0, y - y0
    if geo.rotation == 90:
        return v, w - u
    if geo.rotation == 180:
        return w - u, h - v
    if geo.rotation == 270:
        return h - v, u
    return u, v


def _point_to_user(geo: PageGeometry, dx: float, dy: float) -> tuple[float, float]:
    x0, y0, x1, y1 = geo.media
    w, h = x1 - x0, y1 - y0
    if geo.rotation == 90:
        u, v = w - dy, dx
    elif geo.rotation == 180:
        u, v = w - dx, h - dy
    elif geo.rotation == 270:
        u, v = dy, h - dx
    else:
        u, v = dx, dy
    return u + x0, v + y0


def _map(box: Box, point: object, geo: PageGeometry) -> Box:
    fn = point  # _point_to_display or _point_to_user
    a = fn(geo, box[0], box[1])  # type: ignore[operator]
    b = fn(geo, box[2], box[3])  # type: ignore[operator]
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))


def to_display(box: Box, geo: PageGeometry) -> Box:
    """A box in the page's PDF coordinates as seen on screen (origin bottom left, upright)."""
    return _map(box, _point_to_display, geo)


def to_user(box: Box, geo: PageGeometry) -> Box:
    """A box seen on screen in the page's own PDF coordinates (inverse of :func:`to_display`)."""
    return _map(box, _point_to_user, geo)


@dataclass(frozen=True)
class TextLine:
    """A run of text on one line, as shown (display coordinates).

    Attributes:
        text: the characters, one per entry of ``boxes``.
        boxes: each character's box (display coordinates); spaces PDFium made up have none.
    """

    text: str
    boxes: tuple[Box | None, ...]

    @property
    def box(self) -> Box:
        found = [b for b in self.boxes if b is not None]
        return (
            min(b[0] for b in found),
            min(b[1] for b in found),
            max(b[2] for b in found),
            max(b[3] for b in found),
        )

    def span(self, start: int, end: int) -> Box | None:
        found = [b for b in self.boxes[start:end] if b is not None]
        if not found:
            return None
        return (
            min(b[0] for b in found),
            min(b[1] for b in found),
            max(b[2] for b in found),
            max(b[3] for b in found),
        )


def _geometry(page: pdfium.PdfPage) -> PageGeometry:
    x0, y0, x1, y1 = page.get_bbox()
    return PageGeometry(media=(x0, y0, x1, y1), rotation=page.get_rotation() % 360)


def _lines(page: pdfium.PdfPage, geo: PageGeometry) -> list[TextLine]:
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count else ""
        lines: list[TextLine] = []
        chars: list[str] = []
        boxes: list[Box | None] = []
        last: Box | None = None

        def flush() -> None:
            if any(b is not None for b in boxes):
                lines.append(TextLine("".join(chars), tuple(boxes)))
            chars.clear()
            boxes.clear()

        for index, char in enumerate(text[:count]):
            if char in "\r\n":
                flush()
                last = None
                continue
            box: Box | None = None
            if not char.isspace():
                raw = textpage.get_charbox(index)
                box = to_display((raw[0], raw[1], raw[2], raw[3]), geo)
                if box[2] - box[0] <= 0 and box[3] - box[1] <= 0:
                    box = None
            if box is not None and last is not None:
                found = [b for b in boxes if b is not None]
                low, high = min(b[1] for b in found), max(b[3] for b in found)
                height = max(high - low, box[3] - box[1], 1.0)
                # Overlapping heights: dots and commas sit low, accents stand high.
                same_line = box[1] < high and low < box[3]
                near = -height < box[0] - last[2] < 3 * height
                if not (same_line and near):
                    flush()
            chars.append(char)
            boxes.append(box)
            if box is not None:
                last = box
        flush()
        return lines
    finally:
        textpage.close()


def page_lines(pdf: bytes, page: int) -> tuple[PageGeometry, list[TextLine]]:
    """The geometry and the text lines (display coordinates) of one page (zero-based)."""
    document = pdfium.PdfDocument(pdf)
    try:
        loaded = document[page]
        try:
            geo = _geometry(loaded)
            return geo, _lines(loaded, geo)
        finally:
            loaded.close()
    finally:
        document.close()


@dataclass(frozen=True)
class DraftPositions:
    """Where the issuing fields and signatures go, in each page's own PDF coordinates.

    Attributes:
        first: geometry of page 1 (number and date).
        number_box: the ``…/…`` of ``Số: …/…``, for number and symbol.
        number_full: whether the field gets number and symbol (always, see ``_number_gap``).
        date_box: the placeholders of the date line, from ``ngày`` on (or the whole line).
        date_with_place: whether the place is left blank too (the field then gets the place).
        sign_page: zero-based index of the last page.
        last: geometry of that page.
        leader_box: the leader's signature, between title and printed name.
        seal_box: the seal, over the left third of the leader's signature.
        text_size: font size of the date line (points), for the filled-in text.
        block_lines: the signer block's lines above the signature gap, top to bottom (e.g.
            ``("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")``).
        signer_name: the printed name under the gap.
    """

    first: PageGeometry
    number_box: Box
    number_full: bool
    date_box: Box
    date_with_place: bool
    sign_page: int
    last: PageGeometry
    leader_box: Box
    seal_box: Box
    text_size: float
    block_lines: tuple[str, ...] = ()
    signer_name: str = ""


def _refuse(vi: str, en: str) -> SigningError:
    return SigningError(en, message_vi=vi)


def _number_gap(lines: list[TextLine], width: float) -> tuple[Box, bool]:
    """The whole ``…/…`` after ``Số:``: number and symbol are written there together from the
    register (the drafted symbol is a placeholder too, so the page always shows what the
    register holds); widened to the right into blank space for a longer symbol."""
    for line in lines:
        match = _NUMBER.search(line.text)
        if match is None or line.box[0] > width / 2:
            continue
        before = line.span(match.start(), match.end())
        tail = line.span(match.end(), len(line.text))
        assert before is not None  # "Số:" has visible characters
        top, bottom = line.box[3], line.box[1]
        left = before[2] + 3  # a space after "Số:"
        limit = width * 0.48
        for other in lines:
            for box in other.boxes:
                if box is not None and box[0] >= line.box[2] and box[1] < top and bottom < box[3]:
                    limit = min(limit, box[0] - 1)
        needed = left + _text_width("1234/QĐ-UBND", top - bottom) + 4
        right = min(limit, max(tail[2] if tail is not None else left, needed))
        if right - left < 30:
            raise _refuse(
                "Dòng «Số: …/…» ở trang 1 của dự thảo không chừa chỗ để ghi số và ký hiệu văn "
                "bản. Hãy để trống phần sau «Số:» rồi tải lên lại.",
                "The 'Số: …/…' line on page 1 leaves no room for number and symbol.",
            )
        # A little room above and below: the white under the number hides the whole dots.
        return (left, bottom - 1.5, right, top + 1.5), True
    raise _refuse(
        "Trang 1 của dự thảo không có dòng «Số: …/…» (số và ký hiệu văn bản theo Nghị định "
        "30/2020/NĐ-CP). Hãy thêm dòng này, để trống phần số, rồi tải lên lại.",
        "Page 1 of the draft has no 'Số: …/…' line (number and symbol, Decree 30).",
    )


def _text_width(text: str, size: float) -> float:
    return float(ImageFont.truetype(DEFAULT_FONT, 100).getlength(text)) * size / 100


def _date_gap(lines: list[TextLine], width: float) -> tuple[Box, bool, float]:
    for line in lines:
        match = _DATE.search(line.text.rstrip())
        if match is None:
            continue
        place = line.text[: match.start()].strip().rstrip(",").strip()
        blank_place = not place or set(place) <= PLACEHOLDER
        start = 0 if blank_place else match.start()
        span = line.span(start, len(line.text))
        assert span is not None  # "ngày" has visible characters
        size = max(8.0, min(14.0, span[3] - span[1]))
        # The filled-in date is wider than its dots: widen the field to the right into blank
        # space (up to the page margin or the next text on that band).
        sample = ("Thành phố Hồ Chí Minh, " if blank_place else "") + "ngày 28 tháng 12 năm 2026"
        limit = width - 15
        for other in lines:
            for box in other.boxes:
                if box is not None and box[0] >= span[2] and box[1] < span[3] and span[1] < box[3]:
                    limit = min(limit, box[0] - 1)
        right = min(limit, max(span[2], span[0] + _text_width(sample, size) + 4))
        return (span[0] - 1.5, span[1] - 1.5, right, span[3] + 1.5), blank_place, size
    raise _refuse(
        "Trang 1 của dự thảo không có dòng địa danh và ngày tháng «<địa danh>, ngày … tháng … "
        "năm …» (Nghị định 30/2020/NĐ-CP). Hãy thêm dòng này, để trống ngày tháng, rồi tải "
        "lên lại.",
        "Page 1 of the draft has no '<place>, ngày … tháng … năm …' line (Decree 30).",
    )


def _intersects(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _block_text(right: list[TextLine], title: TextLine) -> tuple[str, ...]:
    """The signer block's lines above the signature, top to bottom: the title line and the
    right-column lines stacked right above it (a gap of more than about a line ends it)."""
    found = [title]
    for line in sorted(right, key=lambda candidate: candidate.box[1]):
        top = found[-1]
        height = max(top.box[3] - top.box[1], 1.0)
        if line.box[1] >= top.box[3] - 0.5 and line.box[1] - top.box[3] < 1.2 * height:
            found.append(line)
    return tuple(" ".join(line.text.split()) for line in reversed(found))


def _signer_block(lines: list[TextLine], width: float) -> tuple[Box, Box, tuple[str, ...], str]:
    right = [line for line in lines if line.box[0] >= width * 0.45 and line.text.strip()]
    right.sort(key=lambda line: line.box[1])
    if len(right) < 2:
        raise _refuse(
            "Trang cuối của dự thảo không có khối chữ ký (chức vụ và họ tên người ký ở bên "
            "phải). Hãy thêm khối chữ ký rồi tải lên lại.",
            "The last page of the draft has no signer block (title and name, on the right).",
        )
    name = right[0].box
    title_line = next((line for line in right[1:] if line.box[1] > name[3]), None)
    title = title_line.box if title_line is not None else None
    gap = (title[1] - name[3]) if title is not None else 0.0
    if title_line is None or title is None or gap < MIN_SIGNATURE_GAP:
        raise _refuse(
            "Khối chữ ký ở trang cuối của dự thảo không chừa chỗ ký giữa chức vụ và họ tên "
            "người ký (cần ít nhất khoảng 15 mm). Hãy để trống vài dòng rồi tải lên lại.",
            "The signer block on the last page leaves no room to sign between title and name.",
        )
    centre = (max(name[0], title[0]) + min(name[2], title[2])) / 2
    half = min(LEADER_WIDTH / 2, width - centre - 10, centre - width * 0.45)
    low, high = name[3] + 2, title[1] - 2
    leader = (centre - half, low, centre + half, high)
    size = min(SEAL_SIZE, high - low)
    seal_right = leader[0] + (leader[2] - leader[0]) / 3
    middle = (low + high) / 2
    seal = (seal_right - size, middle - size / 2, seal_right, middle + size / 2)
    for other in lines:
        for box in other.boxes:
            if box is not None and (_intersects(box, leader) or _intersects(box, seal)):
                raise _refuse(
                    "Chỗ ký ở trang cuối của dự thảo bị chữ khác che (ví dụ phần «Nơi nhận» "
                    "quá dài). Hãy để chỗ trống cho chữ ký và con dấu rồi tải lên lại.",
                    "Text lies where the signature and seal go on the last page.",
                )
    return leader, seal, _block_text(right, title_line), " ".join(right[0].text.split())


def find_signer_block(pdf: bytes) -> tuple[int, Box, Box]:
    """Where the leader's signature and the seal go on the last page (its signer block).

    Args:
        pdf: the document.

    Returns:
        ``(page, leader_box, seal_box)``: the zero-based last page and the two boxes in its
        own PDF coordinates.

    Raises:
        SigningError: with a Vietnamese message when the last page has no usable signer block.
    """
    try:
        document = pdfium.PdfDocument(pdf)
        count = len(document)
        document.close()
    except pdfium.PdfiumError as exc:
        raise _refuse("Không đọc được tệp PDF.", f"Unreadable PDF: {exc}") from exc
    last, lines = page_lines(pdf, count - 1)
    leader, seal, _, _ = _signer_block(lines, last.display_size[0])
    return count - 1, to_user(leader, last), to_user(seal, last)


def find_positions(pdf: bytes) -> DraftPositions:
    """Find the number gap and date line on page 1 and the signer block on the last page.

    Args:
        pdf: the draft.

    Returns:
        The :class:`DraftPositions`.

    Raises:
        SigningError: with a Vietnamese message saying what the draft lacks.
    """
    try:
        document = pdfium.PdfDocument(pdf)
        count = len(document)
        document.close()
    except pdfium.PdfiumError as exc:
        raise _refuse("Không đọc được tệp PDF.", f"Unreadable PDF: {exc}") from exc
    first, lines = page_lines(pdf, 0)
    width, _ = first.display_size
    number, number_full = _number_gap(lines, width)
    date, with_place, size = _date_gap(lines, width)
    last, last_lines = page_lines(pdf, count - 1)
    leader, seal, block, name = _signer_block(last_lines, last.display_size[0])
    return DraftPositions(
        first=first,
        number_box=to_user(number, first),
        number_full=number_full,
        date_box=to_user(date, first),
        date_with_place=with_place,
        sign_page=count - 1,
        last=last,
        leader_box=to_user(leader, last),
        seal_box=to_user(seal, last),
        text_size=size,
        block_lines=block,
        signer_name=name,
    )
