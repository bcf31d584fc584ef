"""Helpers shared by the signing tests (not fixtures)."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp.web
import pypdfium2 as pdfium
from certomancer.integrations.aiohttp_illusionist import AsyncIllusionist
from certomancer.registry import ServiceLabel
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus

from signing import DevPki, SigningServices


def tsa_only_app(pki: DevPki) -> aiohttp.web.Application:
    """An aiohttp app serving the dev TSA but no OCSP/CRL (to provoke missing revocation data)."""
    illusionist = AsyncIllusionist(pki.arch)
    app = aiohttp.web.Application()
    app.router.add_post("/eoffice-dev/tsa/tsa", illusionist._make_tsa_handler(ServiceLabel("tsa")))
    return app


async def pyhanko_status(pdf: bytes, services: SigningServices, index: int) -> PdfSignatureStatus:
    """Validate one embedded signature with pyHanko directly (independent of verify_pdf)."""
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[index]
    return await async_validate_pdf_signature(
        sig,
        services.validation_context(),
        ts_validation_context=services.validation_context(),
    )


def render_region(pdf: bytes, page: int, box: tuple[float, float, float, float]) -> int:
    """Render ``page`` (forms included) and count non-white pixels inside ``box`` (PDF points)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        doc.init_forms()
        pg = doc[page]
        height = pg.get_height()
        image = pg.render(scale=1, may_draw_forms=True).to_pil().convert("L")
        pg.close()
    finally:
        doc.close()
    x1, y1, x2, y2 = box
    crop = image.crop((int(x1), int(height - y2), int(x2), int(height - y1)))
    histogram = crop.histogram()  # grey levels 0..255
    return sum(histogram[:200])


def root_path() -> Path:
    return Path(__file__).resolve().parents[2]
