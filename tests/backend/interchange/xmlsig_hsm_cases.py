"""The packet signature made with the agency's seal key on its SoftHSM token, as
`eoffice pki init` sets it up (`keyring.server_key(settings, keyring.SEAL)`, the key that seals
issued documents), through `signing.Pkcs11RsaPrivateKey`.

SoftHSM reads its token directory when the module is first initialised in a process: these
tests make their tokens before any PKCS#11 use, so they run in a pytest process of their own
(`test_xmlsig.py` starts it; this file's name keeps the main run from collecting it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, PSS, PKCS1v15
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from backend.core.settings import Settings
from backend.interchange import edxml
from backend.interchange.errors import PacketSigningError
from backend.interchange.packet import Attachment
from backend.interchange.xmlsig import SignatureState, sign_packet, verify_packet
from backend.signing_flow import keyring
from signing import DevPki, KeyProviderError, Pkcs11Key, Pkcs11RsaPrivateKey

SAMPLE = Path(__file__).parent / "samples" / "edoc_update.edxml"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, DevPki]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("signing-home"))
    pki = keyring.init(
        settings,
        people=[keyring.Person("leader", "Nguyễn Văn An", holds_server_key=True)],
        agency_name="Văn phòng UBND tỉnh Tây Ninh",
    )
    return settings, pki


@pytest.fixture
def seal(home: tuple[Settings, DevPki]) -> Iterator[Pkcs11Key]:
    key = keyring.server_key(home[0], keyring.SEAL)
    yield key
    key.close()


def _packet() -> bytes:
    packet = edxml.parse_document(SAMPLE.read_bytes())
    pdf = Attachment("main", "Văn bản.pdf", "Văn bản", "application/pdf", b"%PDF-1.7\n%%EOF")
    return edxml.build_document(dataclasses.replace(packet, attachments=(pdf,)))


def test_the_seal_key_signs_a_packet_that_verifies_and_chains_to_the_root(
    home: tuple[Settings, DevPki], seal: Pkcs11Key
) -> None:
    pki = home[1]
    signed = sign_packet(_packet(), key=seal, certificates=[pki.seal_cert, *pki.chain])
    result = verify_packet(signed, trusted=[pki.root_cert])
    assert result.state is SignatureState.VALID and result.trusted, result
    assert "Văn phòng UBND tỉnh Tây Ninh" in result.subject
    tampered = verify_packet(signed.replace(b"000.00.00.H14<", b"000.00.00.H15<"))
    assert tampered.state is SignatureState.INVALID


def test_the_token_key_is_refused_with_another_certificate(
    home: tuple[Settings, DevPki], seal: Pkcs11Key
) -> None:
    """The adapter checks each value with the certificate: the seal's key with the leader's
    certificate is an error, not a signature nobody can verify."""
    pki = home[1]
    with pytest.raises(PacketSigningError) as caught:
        sign_packet(_packet(), key=seal, certificates=[pki.user_cert("leader")])
    assert "thiết bị ký" in caught.value.message_vi
    assert isinstance(caught.value.__cause__, KeyProviderError)
    wrong = Pkcs11RsaPrivateKey(seal, certificate=pki.user_cert("leader"))
    with pytest.raises(KeyProviderError):
        wrong.sign(b"x", PKCS1v15(), hashes.SHA256())
    with pytest.raises(UnsupportedAlgorithm):
        wrong.sign(b"x", PSS(MGF1(hashes.SHA256()), PSS.DIGEST_LENGTH), hashes.SHA256())
    with pytest.raises(UnsupportedAlgorithm):
        wrong.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
