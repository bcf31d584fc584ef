"""Test files made by code: good PDFs, scans, and every kind of bad input the clerk may meet."""

from __future__ import annotations

import io
import zlib

from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from signing import make_sample_pdf


def pdf(pages: int = 2, title: str = "Quyết định phê duyệt kế hoạch") -> bytes:
    return make_sample_pdf(pages=pages, title=title)


def not_a_pdf() -> bytes:
    return b"PK\x03\x04 this is a zip file renamed to .pdf" + bytes(200)


def truncated() -> bytes:
    data = pdf(3)
    return data[: len(data) // 3]


def malformed() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ngarbage\n%%EOF\n"


def encrypted() -> bytes:
    writer = PdfFileWriter()
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 595, 842)]
                ),
            }
        )
    )
    writer.encrypt("owner-secret", "user-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zero_pages() -> bytes:
    writer = PdfFileWriter()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _one_page_with_content(stream: generic.StreamObject, writer: PdfFileWriter) -> None:
    writer.insert_page(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Page"),
                generic.NameObject("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 595, 842)]
                ),
                generic.NameObject("/Contents"): writer.add_object(stream),
            }
        )
    )


def decompression_bomb() -> bytes:
    """A 100 KB file whose one content stream inflates to 160 MB."""
    inflated = 160 * 1024 * 1024
    compressor = zlib.compressobj(9)
    chunk = b" " * (1024 * 1024)
    encoded = b"".join(compressor.compress(chunk) for _ in range(inflated // len(chunk)))
    encoded += compressor.flush()
    stream = generic.StreamObject(
        {generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")}, encoded_data=encoded
    )
    writer = PdfFileWriter()
    _one_page_with_content(stream, writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def photo(text: str, fmt: str = "JPEG", size: tuple[int, int] = (1240, 1754)) -> bytes:
    """A 'phone photo' of a page: white paper, a few lines of dark text."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for line in range(12):
        draw.rectangle((100, 150 + line * 100, size[0] - 100, 170 + line * 100), fill=(40, 40, 40))
    draw.text((100, 60), text, fill="black")
    out = io.BytesIO()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(out, format=fmt)
    return out.getvalue()


def multipage_tiff(pages: int) -> bytes:
    frames = [Image.new("L", (800, 1100), 255) for _ in range(pages)]
    for index, frame in enumerate(frames):
        ImageDraw.Draw(frame).rectangle((50, 50 + index * 40, 700, 80 + index * 40), fill=0)
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def pixel_bomb_png() -> bytes:
    """A tiny PNG that claims 100,000 × 100,000 pixels."""
    image = Image.new("1", (20000, 20000), 0)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
