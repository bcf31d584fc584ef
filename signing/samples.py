"""Sample documents and images for demos, tests and benchmarks — generated, never committed.

* :func:`make_sample_pdf`: a Decree 30 draft (header, number and date left blank, body,
  "Nơi nhận", signer block), any page size and orientation.
* :func:`make_signature_png` / :func:`make_seal_png`: a blue handwritten-like scribble and a red
  round seal with the agency's name, drawn with Pillow on a transparent background.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from signing.appearance import DEFAULT_FONT

__all__ = ["make_sample_pdf", "make_seal_png", "make_signature_png"]

A4 = (595, 842)
_FONT_DIR = "/usr/share/fonts/truetype/noto"

_BODY = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, bổ sung "
    "một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương;",
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn "
    "thư; theo đề nghị của Chánh Văn phòng.",
    "Các cơ quan, đơn vị tổng hợp kết quả thực hiện, khó khăn, vướng mắc và đề xuất giải pháp, "
    "gửi về cơ quan chủ trì trước thời hạn quy định để tổng hợp, báo cáo cấp có thẩm quyền.",
    "Trong quá trình thực hiện, nếu có vướng mắc, đề nghị các cơ quan, đơn vị phản ánh kịp thời "
    "về Văn phòng để được hướng dẫn, giải quyết theo quy định.",
)
SIGNER_NAME = "Nguyễn Văn An"
SIGNER_LINES = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")


def make_sample_pdf(
    *,
    pages: int = 1,
    title: str = "Về việc triển khai kế hoạch công tác năm 2026",
    page_format: str = "A4",
    landscape: bool = False,
    rotate: int = 0,
    signer_name: str = SIGNER_NAME,
    place: str = "Sông Hồng",
    signer_lines: Sequence[str] = SIGNER_LINES,
) -> bytes:
    """Build a Decree 30 draft (Noto Sans, Vietnamese): page 1 has the header (agency, national
    motto), ``Số: …/QĐ-UBND`` with the number left blank and ``Sông Hồng, ngày … tháng … năm
    …``; the pages carry body text; the last page ends with ``Nơi nhận:`` bottom left and the
    signer block bottom right (competence, title, room to sign, printed name).

    Args:
        pages: number of pages.
        title: the subject (trích yếu) under the document type.
        page_format: ``"A4"``, ``"A3"`` (any fpdf2 format name).
        landscape: lay the pages out landscape.
        rotate: ``/Rotate`` of every page (0 or 90): with 90 the pages are stored portrait and
            their content turned so that they show as laid out.
        signer_name: printed name in the signer block.
        signer_lines: the block's lines above the signature (competence and title), e.g.
            ``("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")``.
        place: the place name of the date line (dots leave it for the issuing agency's).

    Returns:
        The PDF bytes.
    """
    from fpdf import FPDF

    pdf = FPDF(orientation="L" if landscape else "P", unit="pt", format=page_format)
    pdf.add_font("Noto", "", f"{_FONT_DIR}/NotoSans-Regular.ttf")
    pdf.add_font("Noto", "B", f"{_FONT_DIR}/NotoSans-Bold.ttf")
    pdf.add_font("Noto", "I", f"{_FONT_DIR}/NotoSans-Italic.ttf")
    pdf.set_auto_page_break(auto=False)
    margin = 57.0
    pdf.set_margins(margin, 43, 43)
    width, height = pdf.w, pdf.h
    left_col = (margin - 15, width * 0.42 - margin + 15)
    right_col = (width * 0.5, width * 0.46 - 20)
    block_height = 200.0
    paragraph = 0
    for number in range(pages):
        pdf.add_page()
        if number == 0:
            top = 43.0
            pdf.set_xy(left_col[0], top)
            pdf.set_font("Noto", "", 12)
            pdf.cell(left_col[1], 16, "ỦY BAN NHÂN DÂN", align="C", new_x="LEFT", new_y="NEXT")
            pdf.set_font("Noto", "B", 12)
            pdf.cell(left_col[1], 16, "TỈNH SÔNG HỒNG", align="C", new_x="LEFT", new_y="NEXT")
            pdf.set_font("Noto", "", 12)
            pdf.cell(left_col[1], 22, "Số: ………/QĐ-UBND", align="C")
            pdf.set_xy(right_col[0], top)
            pdf.set_font("Noto", "B", 12)
            pdf.cell(
                right_col[1],
                16,
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                align="C",
                new_x="LEFT",
                new_y="NEXT",
            )
            pdf.cell(
                right_col[1],
                16,
                "Độc lập - Tự do - Hạnh phúc",
                align="C",
                new_x="LEFT",
                new_y="NEXT",
            )
            pdf.set_font("Noto", "I", 13)
            pdf.cell(right_col[1], 22, f"{place}, ngày …… tháng …… năm 2026", align="C")
            pdf.set_xy(margin, top + 80)
            pdf.set_font("Noto", "B", 14)
            pdf.cell(width - 2 * margin, 20, "QUYẾT ĐỊNH", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Noto", "B", 13)
            pdf.multi_cell(width - 2 * margin, 18, title, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(12)
        else:
            pdf.set_xy(margin, 43)
        pdf.set_font("Noto", "", 13)
        limit = height - 57 - (block_height if number == pages - 1 else 0)
        written = 0
        while True:
            text = f"{paragraph + 1}. " + _BODY[paragraph % len(_BODY)]
            needed = float(
                pdf.multi_cell(  # type: ignore[arg-type]
                    width - 2 * margin, 19, text, align="J", dry_run=True, output="HEIGHT"
                )
            )
            if pdf.get_y() + needed > limit or (written >= 3 and number == pages - 1):
                break
            pdf.multi_cell(width - 2 * margin, 19, text, align="J", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
            paragraph += 1
            written += 1
        if number == pages - 1:
            _closing(
                pdf,
                left_col,
                right_col,
                height - 57 - block_height + 10,
                signer_name,
                signer_lines,
            )
    data = bytes(pdf.output())
    return _rotated(data, rotate) if rotate else data


def _closing(
    pdf: Any,
    left: tuple[float, float],
    right: tuple[float, float],
    top: float,
    name: str,
    lines: Sequence[str],
) -> None:
    pdf.set_xy(left[0] + 15, top)
    pdf.set_font("Noto", "B", 11)
    pdf.cell(left[1], 15, "Nơi nhận:", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Noto", "", 10)
    for line in ("- Như Điều 3;", "- Chủ tịch, các PCT UBND tỉnh;", "- Lưu: VT, VP."):
        pdf.cell(left[1], 13, line, new_x="LEFT", new_y="NEXT")
    pdf.set_xy(right[0], top)
    pdf.set_font("Noto", "B", 13)
    # Three lines fit above the signature's room without moving the name (KT. in a UBND).
    for line in lines:
        pdf.cell(right[1], 17, line, align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_y(pdf.get_y() + 95 - 17 * max(0, len(lines) - 2))
    pdf.set_x(right[0])
    pdf.cell(right[1], 17, name, align="C")


def _rotated(data: bytes, rotate: int) -> bytes:
    """Store each page portrait with ``/Rotate`` 90, its content turned to show as before."""
    import pypdfium2 as pdfium

    if rotate != 90:
        raise ValueError("only /Rotate 90 is supported for samples")
    document = pdfium.PdfDocument(data)
    try:
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            # Shown (dx, dy) -> stored (height - dy, dx) on a page height wide, width tall.
            matrix = pdfium.PdfMatrix(0, 1, -1, 0, height, 0)
            for obj in list(page.get_objects()):
                obj.transform(matrix)
            page.set_mediabox(0, 0, height, width)
            page.set_rotation(90)
            page.gen_content()
            page.close()
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()
    finally:
        document.close()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_signature_png(*, seed: int = 1, width: int = 360, height: int = 140) -> bytes:
    """Draw a blue scribble that looks like a handwritten signature (transparent background).

    Args:
        seed: varies the scribble.
        width: image width in pixels.
        height: image height in pixels.

    Returns:
        PNG bytes (RGBA).
    """
    rng = random.Random(seed)  # noqa: S311 - drawing, not cryptography
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = []
    for step in range(120):
        t = step / 119
        x = 15 + t * (width - 30)
        y = height / 2 + math.sin(t * math.pi * rng.uniform(5, 8)) * height * 0.3
        y += rng.uniform(-6, 6)
        points.append((x, y))
    draw.line(points, fill=(10, 40, 160, 255), width=4, joint="curve")
    draw.line([(30, height * 0.8), (width - 40, height * 0.72)], fill=(10, 40, 160, 255), width=3)
    return _png(image)


def make_seal_png(*, agency_name: str, size: int = 300, font_path: str = DEFAULT_FONT) -> bytes:
    """Draw a red round seal with the agency's name (transparent background).

    Args:
        agency_name: text around the centre of the seal.
        size: diameter in pixels.
        font_path: a TrueType font with Vietnamese glyphs.

    Returns:
        PNG bytes (RGBA).
    """
    red = (200, 16, 16, 255)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, size - 4, size - 4), outline=red, width=8)
    draw.ellipse((size * 0.12, size * 0.12, size * 0.88, size * 0.88), outline=red, width=3)
    font = ImageFont.truetype(font_path, max(10, size // 16))
    words = agency_name.split()
    lines = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)] or [""]
    y = size / 2 - len(lines) * size / 28
    for line in lines:
        draw.text((size / 2, y), line, fill=red, font=font, anchor="mm")
        y += size / 14
    star = [
        (
            size / 2 + math.cos(math.pi / 2 + k * math.pi / 5) * (size / 9 if k % 2 else size / 22),
            size * 0.28
            - math.sin(math.pi / 2 + k * math.pi / 5) * (size / 9 if k % 2 else size / 22),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=red)
    return _png(image)
