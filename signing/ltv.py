"""Long-term validation data: DSS (B-LT) and the archival document timestamp (B-LTA)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import IO

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.dss import async_add_validation_info
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    PathError,
    RevokedError,
    ValidationError,
)

from signing.errors import (
    CertificateRevokedError,
    RevocationUnavailableError,
    SigningError,
    TimestampUnavailableError,
    UntrustedCertificateError,
)
from signing.services import SigningServices

__all__ = ["add_archival_timestamp", "add_validation_data"]


def translate_validation_error(exc: Exception) -> SigningError:
    """The library error for a pyHanko validation failure while gathering validation data."""
    if isinstance(exc, RevokedError):
        return CertificateRevokedError(f"certificate revoked: {exc}")
    if isinstance(exc, InsufficientRevinfoError):
        return RevocationUnavailableError(f"revocation information unavailable: {exc}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return RevocationUnavailableError(f"revocation fetch failed: {exc!r}")
    if isinstance(exc, PathBuildingError | PathError | ValidationError):
        return UntrustedCertificateError(f"certificate path not valid: {exc}")
    return SigningError(f"could not add validation data: {exc!r}")


async def add_validation_data(
    output: IO[bytes], *, field_name: str, services: SigningServices
) -> None:
    """Append a DSS revision with certificates, OCSP responses and CRLs for a signature and its
    timestamp, in place. Revocation checking is hard-fail.

    Raises:
        CertificateRevokedError, RevocationUnavailableError, UntrustedCertificateError.
    """
    output.seek(0)
    reader = PdfFileReader(output, strict=True)
    found = [s for s in reader.embedded_signatures if s.field_name == field_name]
    if not found:
        raise SigningError(f"signature field {field_name!r} not found after embedding")
    try:
        await async_add_validation_info(found[0], services.validation_context(), in_place=True)
    except (TimeoutError, ValidationError, PathError, aiohttp.ClientError, OSError) as exc:
        raise translate_validation_error(exc) from exc


async def add_archival_timestamp(
    output: IO[bytes], *, md_algorithm: str, services: SigningServices
) -> None:
    """Append a document timestamp (with its own validation data) in place (B-LTA).

    Raises:
        TimestampUnavailableError: if the TSA fails.
        RevocationUnavailableError, UntrustedCertificateError: for the TSA's chain.
    """
    timestamper = services.timestamper()
    if timestamper is None:
        raise TimestampUnavailableError("B-LTA needs a timestamp authority")
    output.seek(0)
    writer = IncrementalPdfFileWriter(output, strict=True)
    with timestamp_errors():
        await PdfTimeStamper(timestamper).async_timestamp_pdf(
            writer, md_algorithm, services.validation_context(), in_place=True
        )


@contextlib.contextmanager
def timestamp_errors() -> Iterator[None]:
    """Turn the failures of adding a document timestamp into the library's errors."""
    try:
        yield
    except (TimestampRequestError, PyHankoSigningError) as exc:
        raise TimestampUnavailableError(f"archival timestamp failed: {exc!r}") from exc
    except (ValidationError, PathError) as exc:
        raise translate_validation_error(exc) from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise TimestampUnavailableError(f"archival timestamp failed: {exc!r}") from exc
