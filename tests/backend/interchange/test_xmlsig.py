"""The packet XML-DSig: ours verifies and breaks on any change to the packet; the vendors'
placeholders are told apart from signatures; a bad signature is reported, never raised."""

import base64
import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from backend.interchange import edxml
from backend.interchange.errors import PacketSigningError
from backend.interchange.packet import Attachment, DocumentPacket
from backend.interchange.status import build_status, parse_status
from backend.interchange.xmlsig import SignatureState, sign_packet, verify_packet
from signing import InMemoryKey

SAMPLES = Path(__file__).parent / "samples"
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DS = "http://www.w3.org/2000/09/xmldsig#"
NOW = dt.datetime.now(dt.UTC)
ROOT = Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    ca: x509.Certificate


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None = None,
    ca: bool = False,
    days: int = 30,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer if issuer is not None else (name, key)
    usage = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if ca:
        usage.update(key_cert_sign=True, crl_sign=True)
    else:
        usage.update(digital_signature=True, content_commitment=True)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    assert isinstance(issuer_key, rsa.RSAPrivateKey)
    return builder.sign(issuer_key, hashes.SHA256())


def _signer(organisation: str) -> Signer:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _certificate(f"CA của {organisation}", ca_key, ca=True, days=3650)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _certificate(organisation, key, issuer=(ca.subject, ca_key))
    return Signer(key, cert, ca)


@pytest.fixture(scope="module")
def agency() -> Signer:
    return _signer("Văn phòng UBND tỉnh Tây Ninh")


@pytest.fixture(scope="module")
def stranger() -> Signer:
    return _signer("Cơ quan lạ")


def sample(name: str) -> bytes:
    data = (SAMPLES / name).read_bytes()
    # SOURCES.md: edoc_new.edxml starts with 4 stray bytes, an editing artefact of its source.
    return data[4:] if data.startswith(b"1212") else data


def two_files() -> DocumentPacket:
    packet = edxml.parse_document(sample("edoc_update.edxml"))
    files = (
        Attachment("main", "Văn bản.pdf", "Văn bản", "application/pdf", b"%PDF-1.7 main\n%%EOF"),
        Attachment("annex", "Phụ lục.pdf", "Phụ lục", "application/pdf", b"%PDF-1.7 annex\n%%EOF"),
    )
    return dataclasses.replace(packet, attachments=files)


@pytest.fixture(scope="module")
def signed(agency: Signer) -> bytes:
    return sign_packet(
        edxml.build_document(two_files()), key=agency.key, certificates=[agency.cert, agency.ca]
    )


def _signature(data: bytes) -> etree._Element:
    found = etree.fromstring(data).find(f".//{{{DS}}}Signature")
    assert found is not None
    return found


def test_our_signature_verifies_and_the_packet_is_unchanged(agency: Signer, signed: bytes) -> None:
    result = verify_packet(signed)
    assert result.state is SignatureState.VALID
    assert result.subject == "CN=Văn phòng UBND tỉnh Tây Ninh"
    assert not result.trusted and not result.reason_vi
    assert edxml.parse_document(signed) == two_files()


def test_the_signature_sits_after_the_trace_list_and_the_prefixes_stay(signed: bytes) -> None:
    assert signed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="')
    header = etree.fromstring(signed).find(f".//{{{NS}}}edXMLHeader")
    assert header is not None
    assert [etree.QName(child).text for child in header] == [
        f"{{{NS}}}MessageHeader",
        f"{{{NS}}}TraceHeaderList",
        f"{{{DS}}}Signature",
    ]
    envelope = signed[
        signed.index(b"<edXML:edXMLEnvelope") : signed.index(b"</edXML:edXMLEnvelope")
    ]
    outside_the_signature = re.sub(rb"<ds:Signature .*</ds:Signature>", b"", envelope, flags=re.S)
    assert b"<ds:Signature " in envelope
    assert not re.search(rb"<(?!/|edXML:)[A-Za-z]", outside_the_signature)
    assert (
        b"<AttachmentEncoded>" in signed and b"<edXML:ContentTransferEncoded xmlns:edXML=" in signed
    )
    algorithms = {e.get("Algorithm") for e in _signature(signed).iter() if e.get("Algorithm")}
    assert algorithms == {
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/04/xmlenc#sha256",
    }
    (reference,) = _signature(signed).iter(f"{{{DS}}}Reference")
    assert reference.get("URI") == ""


ANNEX = base64.b64encode(b"%PDF-1.7 annex\n%%EOF")
CHANGES = [
    ("Subject", b"<edXML:Subject>V/v k", b"<edXML:Subject>V/v K"),
    ("To/OrganId", b"<edXML:OrganId>000.00.00.H14<", b"<edXML:OrganId>000.00.00.H15<"),
    ("DocumentId", b"<edXML:DocumentId>000.00.00.G22,2015/09/30", b"<edXML:DocumentId>0"),
    ("an attachment's name", "Phụ lục.pdf<".encode(), "Phu lục.pdf<".encode()),
    ("an attachment's bytes", ANNEX, base64.b64encode(b"%PDF-1.7 Annex\n%%EOF")),
]


@pytest.mark.parametrize(("field", "before", "after"), CHANGES, ids=[c[0] for c in CHANGES])
def test_changing_any_byte_of_the_packet_invalidates_it(
    signed: bytes, field: str, before: bytes, after: bytes
) -> None:
    # The first occurrence: in the MessageHeader for its fields (H14 is in the ReceiverList too).
    assert before in signed, field
    result = verify_packet(signed.replace(before, after, 1))
    assert result.state is SignatureState.INVALID, field
    assert result.reason_vi == "nội dung gói tin đã bị thay đổi sau khi ký"
    assert result.subject == "CN=Văn phòng UBND tỉnh Tây Ninh"


def _edit(data: bytes, change: object) -> bytes:
    root = etree.fromstring(data)
    assert callable(change)
    change(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def test_removing_or_moving_an_attachment_invalidates_it(signed: bytes) -> None:
    def encoded(root: etree._Element) -> etree._Element:
        found = root.find(f"{{{NS}}}AttachmentEncoded")
        assert found is not None
        return found

    def remove(root: etree._Element) -> None:
        encoded(root).remove(encoded(root)[1])

    def swap(root: etree._Element) -> None:
        encoded(root).append(encoded(root)[0])

    def into_the_envelope(root: etree._Element) -> None:
        root[0].append(encoded(root))

    assert verify_packet(_edit(signed, lambda root: None)).state is SignatureState.VALID
    for change in (remove, swap, into_the_envelope):
        result = verify_packet(_edit(signed, change))
        assert result.state is SignatureState.INVALID, change.__name__


def test_every_vendor_sample_is_a_placeholder_and_statuses_have_none() -> None:
    """All the kit's document packets carry a `Signature` element; none is a signature: most are
    outside the xmldsig namespace, and `edoc.edxml`'s real one has the value every sample
    shares (README §2.6)."""
    documents = sorted(SAMPLES.glob("edoc*.edxml")) + sorted(SAMPLES.glob("edxml/edoc*.edxml"))
    assert len(documents) == 7
    for path in documents:
        result = verify_packet(sample(str(path.relative_to(SAMPLES))))
        assert result.state is SignatureState.PLACEHOLDER, path.name
    shared = verify_packet(sample("edoc.edxml"))
    assert "giá trị mẫu dùng chung" in shared.reason_vi
    statuses = sorted(SAMPLES.glob("status*.edxml")) + sorted(SAMPLES.glob("edxml/status*.edxml"))
    assert len(statuses) == 11
    for path in statuses:
        assert verify_packet(path.read_bytes()).state is SignatureState.ABSENT, path.name


def test_the_dotnet_empty_digital_signature_is_a_placeholder() -> None:
    built = edxml.build_document(two_files())
    dotnet = built.replace(
        b"</edXML:TraceHeaderList>", b"</edXML:TraceHeaderList><edXML:DigitalSignature/>"
    )
    assert verify_packet(dotnet).state is SignatureState.PLACEHOLDER
    assert verify_packet(built).state is SignatureState.ABSENT


def test_a_vendor_placeholder_is_replaced_by_our_signature(agency: Signer) -> None:
    data = sample("edoc_update.edxml")
    signed = sign_packet(data, key=agency.key, certificates=[agency.cert])
    assert verify_packet(signed).state is SignatureState.VALID
    header = etree.fromstring(signed).find(f".//{{{NS}}}edXMLHeader")
    assert header is not None
    assert [etree.QName(child).localname for child in header] == [
        "MessageHeader",
        "TraceHeaderList",
        "Signature",
    ]


def test_trust_is_checked_against_the_given_certificates(
    agency: Signer, stranger: Signer, signed: bytes
) -> None:
    by_ca = verify_packet(signed, trusted=[agency.ca])
    assert by_ca.state is SignatureState.VALID and by_ca.trusted
    pinned = verify_packet(signed, trusted=[agency.cert])
    assert pinned.state is SignatureState.VALID and pinned.trusted
    untrusted = verify_packet(signed, trusted=[stranger.ca])
    assert untrusted.state is SignatureState.INVALID and not untrusted.trusted
    assert "không thuộc tổ chức chứng thực được tin cậy" in untrusted.reason_vi
    assert untrusted.subject == "CN=Văn phòng UBND tỉnh Tây Ninh"
    assert verify_packet(signed, trusted=[]).state is SignatureState.INVALID


def test_a_certificate_outside_its_validity_is_reported(agency: Signer, signed: bytes) -> None:
    later = NOW + dt.timedelta(days=60)
    result = verify_packet(signed, at=later)
    assert result.state is SignatureState.INVALID
    assert "hết hạn hoặc chưa có hiệu lực" in result.reason_vi
    assert verify_packet(signed, at=NOW + dt.timedelta(days=1)).state is SignatureState.VALID


class _Sha1Signer(XMLSigner):
    """What peers' software writes (README §2.6): signxml refuses to make it unless told."""

    def check_deprecated_methods(self) -> None:
        pass


def test_a_sha1_signature_is_valid_only_under_the_legacy_policy(agency: Signer) -> None:
    root = etree.fromstring(edxml.build_document(two_files()))
    header = root.find(f".//{{{NS}}}edXMLHeader")
    assert header is not None
    header.append(etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS}, Id="placeholder"))
    signer = _Sha1Signer(
        signature_algorithm=SignatureMethod.RSA_SHA1,
        digest_algorithm=DigestAlgorithm.SHA1,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    legacy = etree.tostring(signer.sign(root, key=agency.key, cert=[agency.cert]))
    result = verify_packet(legacy)
    assert result.state is SignatureState.LEGACY_VALID
    assert result.subject == "CN=Văn phòng UBND tỉnh Tây Ninh"
    changed = verify_packet(legacy.replace(b"000.00.00.H14<", b"000.00.00.H15<"))
    assert changed.state is SignatureState.INVALID


def test_status_packets_are_signed_after_their_message_header(agency: Signer) -> None:
    status = build_status(parse_status((SAMPLES / "status_processing_05.edxml").read_bytes()))
    signed = sign_packet(status, key=agency.key, certificates=[agency.cert])
    assert verify_packet(signed).state is SignatureState.VALID
    assert parse_status(signed) == parse_status(status)
    header = etree.fromstring(signed).find(f".//{{{NS}}}edXMLHeader")
    assert header is not None
    assert [etree.QName(child).localname for child in header] == ["MessageHeader", "Signature"]
    tampered = signed.replace(b"<edXML:StatusCode>05<", b"<edXML:StatusCode>06<")
    assert verify_packet(tampered).state is SignatureState.INVALID


def test_a_packet_with_a_large_attachment_signs_and_verifies(agency: Signer) -> None:
    """A base64 text node over libxml2's default 10 MB limit, which signxml's own parser
    refuses."""
    big = Attachment("big", "Lớn.pdf", "Văn bản", "application/pdf", os.urandom(8 * 1024 * 1024))
    packet = dataclasses.replace(two_files(), attachments=(big,))
    signed = sign_packet(edxml.build_document(packet), key=agency.key, certificates=[agency.cert])
    assert len(signed) > 10 * 1024 * 1024
    assert verify_packet(signed).state is SignatureState.VALID


def _replace_in_signature(signed: bytes, pattern: bytes, new: bytes) -> bytes:
    start = signed.index(b"<ds:Signature ")
    end = signed.index(b"</ds:Signature>")
    part, count = re.subn(pattern, new, signed[start:end], count=1)
    assert count == 1
    return signed[:start] + part + signed[end:]


@pytest.mark.parametrize(
    ("pattern", "new", "said"),
    [
        (rb"<ds:SignatureValue>[^<]*", b"<ds:SignatureValue>not base64!", "không đúng cấu trúc"),
        (rb"<ds:SignatureValue>[^<]{8}", b"<ds:SignatureValue>AAAAAAAA", "không khớp"),
        (rb"<ds:SignatureValue>[^<]*</ds:SignatureValue>", b"<ds:SignatureValue/>", "cấu trúc"),
        (rb'Reference URI=""', b'Reference URI="#x"', "không bao trùm toàn bộ gói tin"),
        (rb"xmldsig-more#rsa-sha256", b"xmldsig-more#rsa-unknown", "không đúng cấu trúc"),
        (rb"(?s)<ds:KeyInfo>.*</ds:KeyInfo>", b"", "không kèm chứng thư số"),
        (rb"<ds:X509Certificate>[^<]{8}", b"<ds:X509Certificate>AAAAAAAA", "không đọc được"),
    ],
)
def test_broken_signatures_are_reported_not_raised(
    signed: bytes, pattern: bytes, new: bytes, said: str
) -> None:
    result = verify_packet(_replace_in_signature(signed, pattern, new))
    assert result.state is SignatureState.INVALID
    assert said in result.reason_vi
    assert result.reason_en


def test_two_signatures_are_one_too_many(signed: bytes) -> None:
    start = signed.index(b"<ds:Signature ")
    end = signed.index(b"</ds:Signature>") + len(b"</ds:Signature>")
    doubled = signed[:end] + signed[start:end] + signed[end:]
    result = verify_packet(doubled)
    assert result.state is SignatureState.INVALID
    assert "nhiều hơn một chữ ký" in result.reason_vi


def test_what_cannot_be_signed_is_said(agency: Signer, stranger: Signer, signed: bytes) -> None:
    built = edxml.build_document(two_files())
    cases = [
        (lambda: sign_packet(built, key=agency.key, certificates=[]), "thiếu chứng thư số"),
        (
            lambda: sign_packet(built, key=agency.key, certificates=[stranger.cert]),
            "không khớp với chứng thư số",
        ),
        (
            lambda: sign_packet(signed, key=agency.key, certificates=[agency.cert]),
            "đã có chữ ký số XML",
        ),
        (
            lambda: sign_packet(
                b"<edXML xmlns='" + NS.encode() + b"'/>",
                key=agency.key,
                certificates=[agency.cert],
            ),
            "thiếu edXMLHeader",
        ),
    ]
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_cert = _certificate("EC", ec_key, issuer=(agency.ca.subject, agency.key))
    cases.append(
        (lambda: sign_packet(built, key=agency.key, certificates=[ec_cert]), "không dùng khóa RSA")
    )
    for attempt, said in cases:
        with pytest.raises(PacketSigningError) as caught:
            attempt()
        assert said in caught.value.message_vi
        assert caught.value.message_en


def test_the_agency_key_on_its_pkcs11_token_signs_packets() -> None:
    """`xmlsig_hsm_cases.py` in a pytest process of its own: SoftHSM reads its token directory
    once per process, at the first PKCS#11 use (see test_production_setup.py)."""
    env = {k: v for k, v in os.environ.items() if k != "SOFTHSM2_CONF"}
    cases = Path(__file__).with_name("xmlsig_hsm_cases.py")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(cases), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary, summary


def _provider(signer: Signer) -> InMemoryKey:
    pem = signer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return InMemoryKey(pem)


def test_any_key_provider_signs_and_a_key_not_the_certificates_is_said(
    agency: Signer, stranger: Signer
) -> None:
    packet = edxml.build_document(two_files())
    signed = sign_packet(packet, key=_provider(agency), certificates=[agency.cert, agency.ca])
    assert verify_packet(signed, trusted=[agency.ca]).state is SignatureState.VALID
    with pytest.raises(PacketSigningError) as caught:
        sign_packet(packet, key=_provider(stranger), certificates=[agency.cert])
    assert "thiết bị ký" in caught.value.message_vi
