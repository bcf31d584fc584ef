"""Untrusted PDFs, checked before anything is stored: type, size, structure, encryption, pages,
and decompression bombs (every content and image stream decoded under pyHanko's limits before
PDFium ever touches the file). Then page count, metadata and text for search, via PDFium.

Runs in a worker process (see `backend.documents.workers`): PDFium is not thread-safe, and a
hostile file must not stall the event loop.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from backend.documents import intake_errors as errors

MiB = 1024 * 1024
# Intake is stricter than pyHanko's defaults: a scanned page's image never needs 64 MiB decoded.
INTAKE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_ratio=1100, ratio_floor=MiB, max_output_size=64 * MiB),
    document_budget=DocumentDecodeBudget(base_allowance=512 * MiB, max_ratio=200),
)
MAX_TEXT = 200_000
MAX_IMAGE_PIXELS = 100_000_000
IMAGE_CODECS = {"/DCTDecode", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode", "/DCT", "/CCF"}
_MALFORMED = (PdfError, KeyError, ValueError, TypeError, IndexError, AttributeError, RecursionError)


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    text: str
    title: str
    subject: str
    author: str
    has_signatures: bool


def _resolve(obj: object) -> object:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _filters(stream: StreamObject) -> list[str]:
    value = _resolve(stream.get("/Filter"))
    if value is None:
        return []
    if isinstance(value, ArrayObject):
        return [str(_resolve(item)) for item in value]
    return [str(value)]


def _check_stream(stream: StreamObject) -> None:
    if IMAGE_CODECS.intersection(_filters(stream)):
        # pyHanko does not decode image codecs; bound what PDFium would allocate instead.
        width = int(_resolve(stream.get("/Width", 0)))  # type: ignore[call-overload]
        height = int(_resolve(stream.get("/Height", 0)))  # type: ignore[call-overload]
        if width * height > MAX_IMAGE_PIXELS:
            raise PdfDecodeLimitError(f"image of {width}x{height} pixels")
        return
    _ = stream.data  # raises PdfDecodeLimitError past the limits


def _decode_all_streams(reader: PdfFileReader) -> None:
    """Decode every stream pages reach (contents, images, forms) under INTAKE_LIMITS."""
    seen: set[int] = set()
    stack: list[object] = []
    for index in range(int(reader.root["/Pages"]["/Count"])):
        page, *_ = reader.find_page_for_modification(index)
        stack.append(page)
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = obj.idnum
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, StreamObject):
            _check_stream(obj)
        if isinstance(obj, DictionaryObject):
            for key, value in obj.items():
                if key in {"/Parent", "/P", "/Annots"}:
                    continue
                stack.append(value)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


@dataclass(frozen=True)
class Glance:
    page_count: int
    has_signatures: bool


def _read(data: bytes, *, name: str, max_bytes: int, max_pages: int, deep: bool) -> Glance:
    """A PDF, not encrypted, with pages, not too many; with `deep`, every stream the pages
    reach decoded within INTAKE_LIMITS. Raises an IntakeError subclass."""
    if len(data) > max_bytes:
        raise errors.TooLargeError(name, max_bytes // MiB)
    if b"%PDF-" not in data[:1024]:
        raise errors.NotPdfError(name)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False, decode_limits=INTAKE_LIMITS)
        if reader.encrypted:
            raise errors.EncryptedPdfError(name)
        count = int(reader.root["/Pages"]["/Count"])
        if count < 1:
            raise errors.EmptyPdfError(name)
        if count > max_pages:
            raise errors.TooManyPagesError(name, max_pages)
        if deep:
            _decode_all_streams(reader)
        return Glance(page_count=count, has_signatures=bool(reader.embedded_signatures))
    except errors.IntakeError:
        raise
    except PdfDecodeLimitError:
        raise errors.DecompressionBombError(name) from None
    except _MALFORMED:
        raise errors.DamagedPdfError(name) from None


def glance_pdf(data: bytes, *, name: str, max_bytes: int, max_pages: int) -> Glance:
    """The cheap part of `inspect_pdf` (about a millisecond): a PDF, not encrypted, with pages,
    not too many, and whether it is signed. Its streams are not decoded: `inspect_pdf` does that
    before anything is registered."""
    return _read(data, name=name, max_bytes=max_bytes, max_pages=max_pages, deep=False)


def inspect_pdf(data: bytes, *, name: str, max_bytes: int, max_pages: int) -> PdfInfo:
    """Check an uploaded PDF; raise an IntakeError subclass or return what we learnt."""
    has_signatures = _read(
        data, name=name, max_bytes=max_bytes, max_pages=max_pages, deep=True
    ).has_signatures

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise errors.EncryptedPdfError(name) from None
        raise errors.DamagedPdfError(name) from None
    try:
        pages = len(document)
        if pages < 1:
            raise errors.EmptyPdfError(name)
        metadata = document.get_metadata_dict(skip_empty=True)
        chunks: list[str] = []
        size = 0
        for index in range(pages):
            if size >= MAX_TEXT:
                break
            page = document[index]
            textpage = page.get_textpage()
            chunk = textpage.get_text_range()
            textpage.close()
            page.close()
            chunks.append(chunk)
            size += len(chunk)
        return PdfInfo(
            page_count=pages,
            text="\n".join(chunks)[:MAX_TEXT],
            title=metadata.get("Title", ""),
            subject=metadata.get("Subject", ""),
            author=metadata.get("Author", ""),
            has_signatures=has_signatures,
        )
    finally:
        document.close()
