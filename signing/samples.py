"""Sample documents and images for demos, tests and benchmarks — generated, never committed.

* :func:`make_sample_pdf`: a plain A4 PDF with some text per page.
* :func:`make_signature_png` / :func:`make_seal_png`: a blue handwritten-like scribble and a red
  round seal with the agency's name, drawn with Pillow on a transparent background.
"""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PdfFileWriter

from signing.appearance import DEFAULT_FONT

__all__ = ["make_sample_pdf", "make_seal_png", "make_signature_png"]

A4 = (595, 842)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_sample_pdf(*, pages: int = 1, title: str = "Sample document", lines: int = 30) -> bytes:
    """Build an A4 PDF with ``pages`` pages of ASCII text (Helvetica).

    Args:
        pages: number of pages.
        title: first line of every page.
        lines: text lines per page.

    Returns:
        The PDF bytes.
    """
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    for number in range(1, pages + 1):
        ops = [
            "BT",
            "/F1 14 Tf",
            "72 780 Td",
            f"({_escape(title)} - page {number}) Tj",
            "/F1 10 Tf",
        ]
        for line in range(lines):
            ops.append("0 -22 Td")
            ops.append(f"(Line {line + 1}: lorem ipsum dolor sit amet, consectetur adipiscing.) Tj")
        ops.append("ET")
        content = writer.add_object(generic.StreamObject(stream_data="\n".join(ops).encode()))
        page = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(
                    generic.NumberObject(v) for v in (0, 0, *A4)
                ),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
                ),
                pdf_name("/Contents"): content,
            }
        )
        writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
