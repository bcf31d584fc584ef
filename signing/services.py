"""External collaborators of signing: trust anchors, the timestamp authority, the HTTP session.

Production fills these from configuration (the Government Cipher Committee's roots, a real TSA URL);
development and tests get them from :func:`signing.devpki.serve_dev_services`.
Nothing is hard-wired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from asn1crypto import pem, x509
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

__all__ = ["SigningServices", "TrustSettings", "load_certificates"]


@dataclass(frozen=True)
class TrustSettings:
    """Which certificates are trusted when producing and checking signatures.

    Attributes:
        trust_roots: root certificates accepted as trust anchors.
        other_certs: intermediate certificates that help build paths (not trusted by themselves).
    """

    trust_roots: tuple[x509.Certificate, ...]
    other_certs: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not self.trust_roots:
            raise ValueError("TrustSettings needs at least one trust root")


@dataclass(frozen=True)
class SigningServices:
    """Everything a signature needs from the outside world.

    Attributes:
        trust: the trust anchors (used for revocation collection and verification).
        http_session: an open aiohttp session owned by the caller (the app's lifespan), used for
            the TSA, OCSP and CRL requests.
        tsa_url: the RFC 3161 timestamp authority; ``None`` only allows level B-B.
        tsa_timeout: seconds to wait for the TSA.
        fetch_timeout: seconds to wait per OCSP/CRL request.
    """

    trust: TrustSettings
    http_session: aiohttp.ClientSession
    tsa_url: str | None = None
    tsa_timeout: float = 10.0
    fetch_timeout: float = 10.0

    def timestamper(self) -> HTTPTimeStamper | None:
        """Return a timestamp client for :attr:`tsa_url`, or ``None`` if none is configured."""
        if self.tsa_url is None:
            return None
        return HTTPTimeStamper(self.tsa_url, timeout=self.tsa_timeout, session=self.http_session)

    def validation_context(self) -> ValidationContext:
        """A fresh pyHanko validation context bound to these services: it fetches OCSP and CRLs
        through :attr:`http_session` and requires revocation information for every certificate
        (hard-fail), as embedding validation data for B-LT/B-LTA does."""
        return ValidationContext(
            trust_roots=list(self.trust.trust_roots),
            other_certs=list(self.trust.other_certs),
            allow_fetching=True,
            revocation_mode="hard-fail",
            fetcher_backend=AIOHttpFetcherBackend(
                self.http_session, per_request_timeout=self.fetch_timeout
            ),
        )


def load_certificates(*, data: bytes | Sequence[bytes]) -> tuple[x509.Certificate, ...]:
    """Load certificates from PEM (possibly several in one blob) or DER bytes.

    Args:
        data: one PEM/DER blob, or a sequence of them.

    Returns:
        The certificates, in the order found.

    Raises:
        ValueError: if a blob holds no certificate.
    """
    blobs = [data] if isinstance(data, bytes) else list(data)
    certs: list[x509.Certificate] = []
    for blob in blobs:
        if pem.detect(blob):
            found = [der for _, _, der in pem.unarmor(blob, multiple=True)]
            if not found:
                raise ValueError("no certificate in PEM data")
            certs.extend(x509.Certificate.load(der) for der in found)
        else:
            certs.append(x509.Certificate.load(blob))
    return tuple(certs)
