"""Archival renewal of B-LTA documents (PAdES, ETSI EN 319 142-1 § 5.5): before the newest
document timestamp's TSA certificate expires or its algorithm weakens, the validation data of
that timestamp is added to the DSS and a new document timestamp covers everything. The chain of
document timestamps is what lets a verifier years later prove that the signatures and their
validation data existed while they were still good (see :mod:`signing.longterm`)."""

from __future__ import annotations

import io
from datetime import datetime

from asn1crypto import cms, tsp
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper

from signing.errors import SigningError, TimestampUnavailableError
from signing.ltv import timestamp_errors
from signing.pdfinput import open_reader, pdf_errors
from signing.services import SigningServices

__all__ = ["WEAK_DIGESTS", "archive_horizon", "renew_archive"]

# Digest algorithms no longer fit to prove existence (a timestamp over one is renewed at once).
WEAK_DIGESTS = frozenset({"md5", "sha1"})


def _newest_timestamp(reader: PdfFileReader) -> cms.SignedData | None:
    stamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    if not stamps:
        return None
    return max(stamps, key=lambda s: s.signed_revision).signed_data


def archive_horizon(*, pdf: bytes) -> datetime | None:
    """Until when the newest document timestamp can prove existence.

    That is the end of validity of its TSA certificate, or the timestamp's own time when its
    digest algorithm is weak (renew at once).

    Args:
        pdf: the document.

    Returns:
        The moment, or ``None`` when the document has no document timestamp (not B-LTA).

    Raises:
        BadPdfError: for unusable input.
    """
    with pdf_errors():
        newest = _newest_timestamp(open_reader(pdf))
    if newest is None:
        return None
    info = tsp.TSTInfo.load(newest["encap_content_info"]["content"].parsed.dump())
    if info["message_imprint"]["hash_algorithm"]["algorithm"].native in WEAK_DIGESTS:
        moment: datetime = info["gen_time"].native
        return moment
    signer_info = newest["signer_infos"][0]
    serial = signer_info["sid"].chosen["serial_number"].native
    for choice in newest["certificates"]:
        cert = choice.chosen
        if cert.serial_number == serial:
            not_after: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
            return not_after
    raise SigningError("the newest document timestamp carries no TSA certificate")


async def renew_archive(*, pdf: bytes, services: SigningServices) -> bytes:
    """Add the newest timestamp's validation data and a new document timestamp.

    Args:
        pdf: a B-LTA document.
        services: the TSA and the revocation fetching to use.

    Returns:
        The renewed document (a new revision appended; nothing before it changes).

    Raises:
        TimestampUnavailableError: if the TSA fails or none is configured.
        RevocationUnavailableError, UntrustedCertificateError: for the previous timestamp's
            chain.
        BadPdfError: for unusable input.
    """
    timestamper = services.timestamper()
    if timestamper is None:
        raise TimestampUnavailableError("archival renewal needs a timestamp authority")
    output = io.BytesIO(pdf)
    try:
        with timestamp_errors():
            reader = PdfFileReader(output, strict=True)
            await PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
                reader, services.validation_context(), in_place=True
            )
    except PdfError as exc:
        raise SigningError(f"archival renewal could not read the document: {exc}") from exc
    return output.getvalue()
