"""Reading untrusted PDFs: every failure becomes a specific :class:`SigningError` subclass."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pyhanko.pdf_utils.decode_limits import DecodeLimits
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError, PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.errors import (
    BadPdfError,
    DecodeLimitError,
    EncryptedPdfError,
    PdfStructureError,
    SigningError,
)

__all__ = ["open_reader", "open_writer", "pdf_errors"]

T = TypeVar("T")

# Errors pyHanko (and the Python it runs on) raise on malformed input, beyond its own PdfError.
# pyHanko also uses ``assert`` on some input (e.g. a startxref pointing at a non-xref object).
_MALFORMED = (
    PdfError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    RecursionError,
    AssertionError,
    EOFError,
    OverflowError,
)


@contextmanager
def pdf_errors() -> Iterator[None]:
    """Translate errors raised while parsing a PDF into :class:`BadPdfError` subclasses."""
    try:
        yield
    except SigningError:
        raise
    except PdfDecodeLimitError as exc:
        raise DecodeLimitError(f"decode limit exceeded: {exc}") from exc
    except PdfReadError as exc:
        raise BadPdfError(f"unreadable PDF: {exc}") from exc
    except _MALFORMED as exc:
        raise BadPdfError(f"malformed PDF: {exc!r}") from exc


def _check(reader: PdfFileReader) -> None:
    if reader.encrypted:
        raise EncryptedPdfError("the PDF is encrypted")
    if reader.xrefs.hybrid_xrefs_present:
        raise PdfStructureError("the PDF uses hybrid cross-reference sections")
    # Touch the page tree so that broken structures fail here rather than mid-signature.
    root = reader.root
    pages = root["/Pages"]
    if int(pages["/Count"]) < 1:
        raise BadPdfError("the PDF has no pages")
    reader.find_page_for_modification(0)


def _guarded(factory: Callable[[], T]) -> T:
    with pdf_errors():
        return factory()


def open_reader(pdf: bytes, *, decode_limits: DecodeLimits | None = None) -> PdfFileReader:
    """Open ``pdf`` read-only in strict mode, with decode limits, and sanity-check it.

    Raises:
        BadPdfError: and subclasses, for unreadable, encrypted or unsupported documents.
    """

    def build() -> PdfFileReader:
        reader = PdfFileReader(io.BytesIO(pdf), strict=True, decode_limits=decode_limits)
        _check(reader)
        return reader

    return _guarded(build)


def open_writer(
    pdf: bytes, *, decode_limits: DecodeLimits | None = None
) -> IncrementalPdfFileWriter:
    """Open ``pdf`` for an incremental update, after the checks of :func:`open_reader`.

    Raises:
        BadPdfError: and subclasses, for unreadable, encrypted or unsupported documents.
    """

    def build() -> IncrementalPdfFileWriter:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True, decode_limits=decode_limits)
        _check(writer.prev)
        return writer

    return _guarded(build)
