"""Signature values: checking a returned value against the certificate and the DTBS, and
normalising ECDSA encodings."""

from __future__ import annotations

from asn1crypto import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from signing.errors import SignatureMismatchError
from signing.keys import hash_algorithm

__all__ = ["control_code", "ecdsa_raw_to_der", "normalise_and_verify"]


def ecdsa_raw_to_der(*, value: bytes) -> bytes:
    """Convert a raw ``r‖s`` ECDSA signature (PKCS#11, SIM, Mobile-ID) to DER ``ECDSA-Sig-Value``.

    Args:
        value: ``r`` and ``s`` as big-endian integers of equal length.

    Returns:
        The DER encoding.

    Raises:
        ValueError: if the length is odd or zero.
    """
    if not value or len(value) % 2:
        raise ValueError("raw ECDSA signature must have an even, non-zero length")
    half = len(value) // 2
    return encode_dss_signature(
        int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
    )


def _curve_bytes(key: ec.EllipticCurvePublicKey) -> int:
    return (key.curve.key_size + 7) // 8


def _ecdsa_readings(key: ec.EllipticCurvePublicKey, value: bytes) -> list[bytes]:
    """The DER encodings ``value`` may stand for: itself, and, when it has the length of a raw
    ``r‖s`` for this curve, its conversion. The first byte cannot tell them apart: a raw value
    starts with 0x30 once in 256 signatures, and a DER value can have the raw length."""
    readings = [value]
    if len(value) == 2 * _curve_bytes(key):
        readings.insert(0, ecdsa_raw_to_der(value=value))
    return readings


def _verify_ecdsa(key: ec.EllipticCurvePublicKey, dtbs: bytes, value: bytes, algo: object) -> bytes:
    for candidate in _ecdsa_readings(key, value):
        try:
            key.verify(candidate, dtbs, ec.ECDSA(algo))  # type: ignore[arg-type]
        except (InvalidSignature, ValueError):
            continue
        return candidate
    raise InvalidSignature("no reading of the ECDSA value verifies")


def normalise_and_verify(
    *, certificate: x509.Certificate, dtbs: bytes, signature_value: bytes, md_algorithm: str
) -> bytes:
    """Verify ``signature_value`` over ``dtbs`` with the certificate's key; return it normalised.

    RSA values must be PKCS#1 v1.5. ECDSA values may be raw ``r‖s`` or DER; DER is returned.

    Args:
        certificate: the signer's certificate.
        dtbs: the DER signed attributes that were to be signed.
        signature_value: the value returned by the key, HSM or SIM.
        md_algorithm: digest algorithm name.

    Returns:
        The signature value to embed in the CMS.

    Raises:
        SignatureMismatchError: if it does not verify.
    """
    public_key = serialization.load_der_public_key(certificate.public_key.dump())
    algo = hash_algorithm(md_algorithm)
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature_value, dtbs, padding.PKCS1v15(), algo)
            return signature_value
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            return _verify_ecdsa(public_key, dtbs, signature_value, algo)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureMismatchError(
            "signature value does not verify against the certificate and the DTBS"
        ) from exc
    raise SignatureMismatchError(f"unsupported public key type {type(public_key).__name__}")


def control_code(*, dtbs_hash: bytes) -> str:
    """Mobile-ID style 4-digit control code of a hash (6 leading + 7 trailing bits).

    Args:
        dtbs_hash: the hash the key signs, at least 20 bytes.

    Returns:
        ``"%04d" % (((0xFC & h[0]) << 5) | (h[-1] & 0x7F))``, in ``0000``–``8191``.

    Raises:
        ValueError: if the hash is shorter than 20 bytes.
    """
    if len(dtbs_hash) < 20:
        raise ValueError("hash too short for a control code")
    return "%04d" % (((0xFC & dtbs_hash[0]) << 5) | (dtbs_hash[-1] & 0x7F))  # noqa: UP031
