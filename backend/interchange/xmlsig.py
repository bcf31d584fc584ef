"""The packet's own XML signature (README §2.6, §9.4): our packets signed with the agency's key
(`sign_packet`), a received packet's signature reported (`verify_packet`) — never a reason to
refuse a packet, whose legally binding signatures are the PDFs' own.

What we write: one enveloped XML-DSig, `Reference URI=""` (the whole packet, attachments
included, less the signature itself), RSA-SHA256 over a SHA-256 digest, Canonical XML 1.0 as
VPCP's fixture has it, the signer's certificate (and chain) in `KeyInfo/X509Data`. It goes into
`edXMLHeader` after `TraceHeaderList` as `ds:Signature` (VPCP's `edoc.edxml` writes the xmldsig
namespace as the default one instead, which signxml 5.2 cannot produce consistently: its
`Transforms` then fall out of the namespace); the `edXML:` prefixes stay as they were.
The key is a `cryptography` RSA key, the agency's key on its PKCS#11 token (`signing.Pkcs11Key`,
signed through `signing.Pkcs11RsaPrivateKey`) or any other `signing.KeyProvider` (its coroutine
run to completion in the signing thread); signing blocks (PKCS#11), so async code runs it in a
thread (`seal_packet`, with a `PacketSeal`: the agency seal key and its chain).

What we read: ABSENT (no signature), PLACEHOLDER (what vendors write in its place: a `Signature`
outside the xmldsig namespace, .NET's empty `DigitalSignature`, or a real one carrying the value
every vendor sample shares), VALID, LEGACY_VALID (SHA-1, accepted for reading only) or INVALID
with the reason. Only a signature over the whole packet counts. With `trusted` certificates the
signer's certificate must be one of them or chain to one (validity at `at`, no revocation check);
without, VALID says the packet is as the holder of the embedded certificate signed it — not who
that is.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidSignature,
    SignXMLException,
)
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from backend.interchange.errors import PacketSigningError
from backend.interchange.safexml import DEFAULT_MAX_PACKET_BYTES, hardened_parser, parse_packet
from backend.interchange.shape import serialise
from signing import (
    KeyProvider,
    KeyProviderError,
    Pkcs11Key,
    Pkcs11RsaPrivateKey,
    ProviderRsaPrivateKey,
)

__all__ = [
    "Certificate",
    "PacketSeal",
    "PacketSignature",
    "SignatureState",
    "seal_packet",
    "sign_packet",
    "subject_of",
    "verify_packet",
]

DS = "http://www.w3.org/2000/09/xmldsig#"
# SHA-256 of the SignatureValue every vendor sample carries, from every vendor (README §2.6).
_SHARED_SAMPLE_VALUE = "84c02a25a4444b7e57b4fb78e4ef2e7681c64030618865204b5dff00fd86430b"
_VENDOR_PLACEHOLDERS = {"Signature", "DigitalSignature"}
_MODERN = SignatureConfiguration(
    require_x509=True,
    expect_references=1,
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)
_LEGACY = SignatureConfiguration(
    require_x509=True,
    expect_references=1,
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
    signature_methods=frozenset(SignatureMethod),
    digest_algorithms=frozenset(DigestAlgorithm),
)

# The project's certificates are asn1crypto's (signing, keyring); cryptography's are taken too.
Certificate: TypeAlias = x509.Certificate | asn1_x509.Certificate


class SignatureState(enum.Enum):
    ABSENT = "absent"
    PLACEHOLDER = "placeholder"
    VALID = "valid"
    LEGACY_VALID = "legacy_valid"  # SHA-1: verified under the legacy policy only
    INVALID = "invalid"


@dataclass(frozen=True)
class PacketSignature:
    state: SignatureState
    subject: str = ""  # the signing certificate's subject (RFC 4514), when one was read
    reason_vi: str = ""  # why INVALID, or what the PLACEHOLDER was
    reason_en: str = ""
    trusted: bool = False  # the signer was checked against `trusted` certificates, and passed


@dataclass(frozen=True)
class PacketSeal:
    """The agency's seal key and its certificates, the seal's own first: what our packets are
    signed with (`signing_flow.setup.SigningSetup.packet_seal`)."""

    key: KeyProvider
    certificates: tuple[Certificate, ...]

    @property
    def subject(self) -> str:
        return subject_of(self.certificates[0])


async def seal_packet(xml: bytes, seal: PacketSeal) -> bytes:
    """`sign_packet` with the seal, off the event loop (PKCS#11 blocks)."""
    return await asyncio.to_thread(sign_packet, xml, key=seal.key, certificates=seal.certificates)


class _Signer(XMLSigner):
    """signxml's signer reading the packet with our parser: attachments are text nodes beyond
    libxml2's default limit (10 MB), which its own parser refuses."""

    @property
    def parser(self) -> etree.XMLParser:
        return hardened_parser()


def sign_packet(
    xml: bytes, *, key: rsa.RSAPrivateKey | KeyProvider, certificates: Sequence[Certificate]
) -> bytes:
    """The packet with our enveloped signature over all of it.

    `certificates`: the signer's certificate first, then any CA certificates to send with it.
    Raises `PacketSigningError` (a key that is not RSA or not the certificate's, a packet
    already signed, the token failing).
    """
    if not certificates:
        raise _cannot_sign(
            "thiếu chứng thư số của khóa ký", "the signing key's certificate is missing"
        )
    chain = [_pyca(certificate) for certificate in certificates]
    signing_key = _signing_key(key, chain[0])
    root = parse_packet(xml, max_bytes=len(xml))
    if next(root.iter(f"{{{DS}}}Signature"), None) is not None:
        raise _cannot_sign("gói tin đã có chữ ký số XML", "the packet is signed already")
    header = next((e for e in root.iter() if _local(e) == "edXMLHeader"), None)
    if header is None:
        raise _cannot_sign(
            "không phải gói tin edXML (thiếu edXMLHeader)", "not an edXML packet (no edXMLHeader)"
        )
    for vendor in [child for child in header if _local(child) in _VENDOR_PLACEHOLDERS]:
        header.remove(vendor)
    placeholder = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder")
    after = next((child for child in header if _local(child) == "TraceHeaderList"), None)
    if after is None:  # a status packet: after its MessageHeader
        header.append(placeholder)
    else:
        after.addnext(placeholder)
        placeholder.tail = after.tail
    signer = _Signer(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    try:
        signed = signer.sign(root, key=signing_key, cert=chain)
    except KeyProviderError as exc:
        raise PacketSigningError(
            "Không ký được gói tin bằng khóa của cơ quan trên thiết bị ký (HSM). Hãy thử lại "
            "sau ít phút; nếu vẫn lỗi, báo quản trị hệ thống.",
            f"The packet could not be signed with the agency's key on its token (HSM): {exc}. "
            "Try again in a few minutes; if it keeps failing, tell the administrator.",
        ) from exc
    return serialise(signed, pretty=False)


def _signing_key(
    key: rsa.RSAPrivateKey | KeyProvider, certificate: x509.Certificate
) -> rsa.RSAPrivateKey:
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise _cannot_sign(
            "chứng thư số không dùng khóa RSA (gói tin được ký RSA-SHA256)",
            "the certificate's key is not RSA (packets are signed RSA-SHA256)",
        )
    if isinstance(key, Pkcs11Key):
        return Pkcs11RsaPrivateKey(
            key, certificate=asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
        )
    if isinstance(key, KeyProvider):
        return ProviderRsaPrivateKey(key, public)
    if key.public_key().public_numbers() != public.public_numbers():
        raise _cannot_sign(
            "khóa ký không khớp với chứng thư số", "the key does not match the certificate"
        )
    return key


def _cannot_sign(vi: str, en: str) -> PacketSigningError:
    return PacketSigningError(
        f"Không ký được gói tin: {vi}. Hãy báo quản trị hệ thống.",
        f"The packet cannot be signed: {en}. Tell the administrator.",
    )


def verify_packet(
    xml: bytes,
    *,
    trusted: Sequence[Certificate] | None = None,
    at: dt.datetime | None = None,
    max_bytes: int = DEFAULT_MAX_PACKET_BYTES,
) -> PacketSignature:
    """What the packet's XML signature is worth (see the module docstring). Never raises for the
    signature; a packet that is not XML at all raises `MalformedPacketError` (`safexml`).

    `at`: the moment the signer's certificate must be valid at (now by default; the time the
    packet arrived, to check it again later).
    """
    root = parse_packet(xml, max_bytes=max_bytes)
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    if not signatures:
        if any(_local(e) in _VENDOR_PLACEHOLDERS for e in root.iter()):
            return _placeholder(
                "phần mềm gửi chỉ ghi phần tử Signature mẫu, không phải chữ ký số XML",
                "the sending software wrote a sample Signature element, not an XML signature",
            )
        return PacketSignature(SignatureState.ABSENT)
    if len(signatures) > 1:
        return _invalid(
            "gói tin có nhiều hơn một chữ ký số XML", "there is more than one signature"
        )
    signature = signatures[0]
    if _signature_value_digest(signature) == _SHARED_SAMPLE_VALUE:
        return _placeholder(
            "giá trị chữ ký là giá trị mẫu dùng chung của các phần mềm, không ký gì cả",
            "the signature value is the sample value every vendor copies; it signs nothing",
        )
    references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        return _invalid(
            "chữ ký không bao trùm toàn bộ gói tin", "the signature does not cover the whole packet"
        )
    try:
        certificates = [
            x509.load_der_x509_certificate(base64.b64decode("".join((e.text or "").split())))
            for e in signature.iter(f"{{{DS}}}X509Certificate")
        ]
    except (ValueError, binascii.Error):
        return _invalid(
            "chứng thư số kèm chữ ký không đọc được",
            "the certificate in the signature is unreadable",
        )
    if not certificates:
        return _invalid("chữ ký không kèm chứng thư số", "the signature carries no certificate")
    signer = _leaf(certificates)
    subject = signer.subject.rfc4514_string()
    try:
        legacy = _uses_sha1(signature)
        config = _LEGACY if legacy else _MODERN
        if at is not None:
            config = replace(config, verification_time=at)
        XMLVerifier().verify(root, x509_cert=signer, parser=hardened_parser(), expect_config=config)
    except InvalidDigest:
        return _invalid(
            "nội dung gói tin đã bị thay đổi sau khi ký",
            "the packet was changed after it was signed",
            subject,
        )
    except InvalidCertificate:
        return _invalid(
            "chứng thư số của người ký hết hạn hoặc chưa có hiệu lực vào thời điểm kiểm tra",
            "the signer's certificate was expired or not yet valid at the time checked",
            subject,
        )
    except InvalidSignature:
        return _invalid(
            "giá trị chữ ký không khớp với chứng thư số kèm theo",
            "the signature value does not match the certificate it carries",
            subject,
        )
    # signxml reads the elements it expects without asking whether they are there: what a
    # malformed signature makes it raise is a report too, never the caller's exception.
    except (
        SignXMLException,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        UnsupportedAlgorithm,
        etree.LxmlError,
    ) as exc:
        return _invalid(
            "chữ ký số XML không đúng cấu trúc hoặc dùng thuật toán không hỗ trợ",
            f"the XML signature is malformed or uses an unsupported algorithm ({exc})",
            subject,
        )
    if trusted is not None and not _chains_to(signer, certificates, trusted, at):
        return _invalid(
            "chứng thư số của người ký không thuộc tổ chức chứng thực được tin cậy",
            "the signer's certificate does not chain to a trusted certificate",
            subject,
        )
    return PacketSignature(
        SignatureState.LEGACY_VALID if legacy else SignatureState.VALID,
        subject=subject,
        trusted=trusted is not None,
    )


def subject_of(certificate: Certificate) -> str:
    """A certificate's subject as `verify_packet` reports it (RFC 4514)."""
    return _pyca(certificate).subject.rfc4514_string()


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname) if isinstance(element.tag, str) else ""


def _pyca(certificate: Certificate) -> x509.Certificate:
    if isinstance(certificate, x509.Certificate):
        return certificate
    return x509.load_der_x509_certificate(certificate.dump())


def _placeholder(vi: str, en: str) -> PacketSignature:
    return PacketSignature(SignatureState.PLACEHOLDER, reason_vi=vi, reason_en=en)


def _invalid(vi: str, en: str, subject: str = "") -> PacketSignature:
    return PacketSignature(SignatureState.INVALID, subject=subject, reason_vi=vi, reason_en=en)


def _signature_value_digest(signature: etree._Element) -> str:
    value = signature.find(f"{{{DS}}}SignatureValue")
    try:
        raw = base64.b64decode("".join((value.text or "").split()) if value is not None else "")
    except (ValueError, binascii.Error):
        return ""
    return hashlib.sha256(raw).hexdigest()


def _uses_sha1(signature: etree._Element) -> bool:
    """Whether the signature or its digest is SHA-1-based (raises ValueError for an algorithm
    signxml does not know)."""
    method = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod")
    digests = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference/{{{DS}}}DigestMethod")
    names = [SignatureMethod(method.get("Algorithm") if method is not None else "").name]
    names += [DigestAlgorithm(d.get("Algorithm")).name for d in digests]
    return any("SHA1" in name for name in names)


def _leaf(certificates: list[x509.Certificate]) -> x509.Certificate:
    """The certificate no other one in X509Data was issued by (the order is not fixed)."""
    for certificate in certificates:
        if not any(o.issuer == certificate.subject and o != certificate for o in certificates):
            return certificate
    return certificates[0]


def _signing_usage(
    policy: object, certificate: x509.Certificate, usage: x509.KeyUsage | None
) -> None:
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise ValueError("the certificate's KeyUsage allows neither signing nor non-repudiation")


def _chains_to(
    signer: x509.Certificate,
    carried: list[x509.Certificate],
    trusted: Sequence[Certificate],
    at: dt.datetime | None,
) -> bool:
    anchors = [_pyca(certificate) for certificate in trusted]
    if not anchors:
        return False
    if signer in anchors:  # pinned; its validity at `at` was checked with the signature
        return True
    builder = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(at or dt.datetime.now(dt.UTC))
        .extension_policies(
            ee_policy=ExtensionPolicy.permit_all().may_be_present(
                x509.KeyUsage, Criticality.AGNOSTIC, _signing_usage
            ),
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
        )
    )
    try:
        builder.build_client_verifier().verify(signer, [c for c in carried if c != signer])
    except VerificationError:
        return False
    return True
