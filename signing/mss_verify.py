"""Check a raw SIM signature against the user's certificate and the DTBS hash before using it."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from signing.mss_errors import MssInvalidInputError, MssSignatureMismatchError

__all__ = ["check_signature", "load_certificate"]


def load_certificate(certificate_der: bytes) -> x509.Certificate:
    """Parse a DER certificate whose key is RSA or EC (what a signature SIM holds).

    Raises:
        MssInvalidInputError: not a DER certificate, or a key type the SIM cannot have.
    """
    try:
        cert = x509.load_der_x509_certificate(certificate_der)
    except ValueError as exc:
        raise MssInvalidInputError(f"not a DER certificate: {exc}") from None
    if not isinstance(cert.public_key(), rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise MssInvalidInputError("the certificate's key is neither RSA nor EC")
    return cert


def check_signature(*, signature: bytes, certificate_der: bytes, dtbs_hash: bytes) -> bytes:
    """Verify a PKCS#1 signature value over a SHA-256 hash and return it ready for CMS.

    Args:
        signature: the value the MSSP returned. RSA: PKCS#1 v1.5 over DigestInfo(SHA-256, hash).
            ECDSA: plain ``r‖s`` (as SIMs return it) or DER.
        certificate_der: the user's certificate, fetched before the request was made.
        dtbs_hash: the SHA-256 hash this client asked to have signed.

    Returns:
        The signature as a CMS ``SignerInfo.signature`` needs it: unchanged for RSA, a DER
        ``ECDSA-Sig-Value`` for ECDSA.

    Raises:
        MssSignatureMismatchError: the value does not verify.
    """
    key = load_certificate(certificate_der).public_key()
    prehashed = Prehashed(hashes.SHA256())
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, dtbs_hash, padding.PKCS1v15(), prehashed)
            return signature
        assert isinstance(key, ec.EllipticCurvePublicKey)
        der = _ecdsa_der(signature, key.curve.key_size)
        key.verify(der, dtbs_hash, ec.ECDSA(prehashed))
        return der
    except (InvalidSignature, ValueError):
        raise MssSignatureMismatchError() from None


def _ecdsa_der(signature: bytes, key_bits: int) -> bytes:
    size = (key_bits + 7) // 8
    if len(signature) != 2 * size:
        # Not r‖s of this curve: take it as DER and let verification decide.
        return signature
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    return encode_dss_signature(r, s)
