"""Page images for phones and iPads: PDFium renders, Pillow encodes WebP. Runs in workers."""

from __future__ import annotations

import io

import pypdfium2 as pdfium

# Renditions: phone portrait, iPad portrait, and the zoomed (2x iPad) view.
WIDTHS = (640, 1024, 2048)
WEBP_QUALITY = 80


def render_page(pdf_path: str, page_index: int, width: int) -> bytes:
    document = pdfium.PdfDocument(pdf_path)
    # Without a form environment PDFium skips widget appearances: the number and date fields,
    # the leader's signature and the agency seal would be missing from the page images.
    document.init_forms()
    try:
        if not 0 <= page_index < len(document):
            raise IndexError(page_index)
        page = document[page_index]
        try:
            page_width = page.get_width()
            bitmap = page.render(scale=width / page_width, may_draw_forms=True)
            image = bitmap.to_pil()
        finally:
            page.close()
        out = io.BytesIO()
        image.convert("RGB").save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
        return out.getvalue()
    finally:
        document.close()
