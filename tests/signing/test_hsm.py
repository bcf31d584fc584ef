"""PKCS#11 keys on a real SoftHSM2 token created by code."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from conftest import CLERK, KEY_ID, KEY_LABEL, LEADER, PIN
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.signer import XMLSigner
from signxml.verifier import VerifyResult, XMLVerifier

from signing import (
    SOFTHSM_MODULE,
    DevPki,
    KeyProviderError,
    PadesLevel,
    Pkcs11Key,
    Pkcs11RsaPrivateKey,
    SigningServices,
    ecdsa_raw_to_der,
    sign_pdf,
    verify_pdf,
)
from signing.signature_values import normalise_and_verify


def _key(token: str, **kwargs: object) -> Pkcs11Key:
    params: dict[str, object] = {"key_label": KEY_LABEL, **kwargs}
    return Pkcs11Key(module_path=SOFTHSM_MODULE, token_label=token, pin=PIN, **params)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_token_key_signs_a_verifiable_value(softhsm: str, pki: DevPki) -> None:
    key = _key(softhsm)
    try:
        value = await key.sign(dtbs=b"data to be signed")
    finally:
        key.close()
    public = serialization.load_der_public_key(pki.user_cert(LEADER).public_key.dump())
    public.verify(value, b"data to be signed", padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg, arg-type]


@pytest.mark.anyio
async def test_concurrent_pdf_signatures_on_one_token(
    softhsm: str, pki: DevPki, services: SigningServices, sample_pdf: bytes
) -> None:
    key = _key(softhsm, key_id=KEY_ID)
    try:
        signed = await asyncio.gather(
            *(
                sign_pdf(
                    pdf=sample_pdf,
                    key=key,
                    signer_cert=pki.user_cert(LEADER),
                    chain=pki.chain,
                    services=services,
                    level=PadesLevel.B_T,
                )
                for _ in range(6)
            )
        )
        values = await asyncio.gather(*(key.sign(dtbs=bytes([i]) * 64) for i in range(20)))
    finally:
        key.close()
    assert len(set(values)) == 20
    for pdf in signed:
        report = await verify_pdf(pdf=pdf, trust=pki.trust, http_session=services.http_session)
        assert report.ok, report.summary_en


@pytest.mark.anyio
async def test_unknown_key_is_a_key_provider_error(softhsm: str) -> None:
    key = _key(softhsm, key_label="no-such-key")
    with pytest.raises(KeyProviderError):
        await key.sign(dtbs=b"x")
    with pytest.raises(ValueError):
        Pkcs11Key(module_path=SOFTHSM_MODULE, token_label=softhsm, pin=PIN)


def _ec_key_and_certificate() -> tuple[ec.EllipticCurvePrivateKey, asn1_x509.Certificate]:
    """A P-256 key and a self-signed certificate of it, valid for a day."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    return private, asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def test_raw_ecdsa_is_converted_and_checked() -> None:
    private, asn1_cert = _ec_key_and_certificate()
    der = private.sign(b"dtbs", ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert ecdsa_raw_to_der(value=raw) == der
    for value in (raw, der):
        out = normalise_and_verify(
            certificate=asn1_cert, dtbs=b"dtbs", signature_value=value, md_algorithm="sha256"
        )
        assert out == der


def test_raw_ecdsa_starting_with_the_der_sequence_tag_is_still_read_as_raw() -> None:
    """A raw r‖s whose r begins with byte 0x30 (1 signature in 256) must not be taken for DER."""
    private, asn1_cert = _ec_key_and_certificate()
    for attempt in range(20000):
        dtbs = b"dtbs-%d" % attempt
        der = private.sign(dtbs, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        if raw[0] == 0x30:
            break
    else:  # pragma: no cover - probability about e^-78
        raise AssertionError("no raw value starting with 0x30 in 20000 signatures")
    out = normalise_and_verify(
        certificate=asn1_cert, dtbs=dtbs, signature_value=raw, md_algorithm="sha256"
    )
    assert out == der
    from signing import SignatureMismatchError

    with pytest.raises(SignatureMismatchError):
        normalise_and_verify(
            certificate=asn1_cert, dtbs=b"other", signature_value=raw, md_algorithm="sha256"
        )
    with pytest.raises(ValueError):
        ecdsa_raw_to_der(value=b"\x01\x02\x03")


def test_a_token_rsa_key_signs_as_a_cryptography_key_for_signxml(softhsm: str, pki: DevPki) -> None:
    """signxml (the edXML packet signature) signs with a `cryptography` RSAPrivateKey: the token
    key behind `Pkcs11RsaPrivateKey` is one, and what it signs verifies with the certificate."""
    key = _key(softhsm)
    try:
        adapter = Pkcs11RsaPrivateKey(key, certificate=pki.user_cert(LEADER))
        assert isinstance(adapter, rsa.RSAPrivateKey)
        value = adapter.sign(b"data", padding.PKCS1v15(), hashes.SHA384())
        adapter.public_key().verify(value, b"data", padding.PKCS1v15(), hashes.SHA384())
        cert = x509.load_der_x509_certificate(pki.user_cert(LEADER).dump())
        document = etree.fromstring("<packet><subject>V/v thử</subject></packet>".encode())
        signed = XMLSigner().sign(document, key=adapter, cert=[cert])
        verified = XMLVerifier().verify(signed, x509_cert=cert)
        assert isinstance(verified, VerifyResult) and verified.signed_xml is not None
        with pytest.raises(UnsupportedAlgorithm):
            adapter.sign(b"data", padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        with pytest.raises(UnsupportedAlgorithm):
            adapter.private_numbers()
        # Another certificate than the key's: the value is checked, and refused.
        wrong = Pkcs11RsaPrivateKey(key, certificate=pki.user_cert(CLERK))
        with pytest.raises(KeyProviderError):
            wrong.sign(b"data", padding.PKCS1v15(), hashes.SHA256())
    finally:
        key.close()
