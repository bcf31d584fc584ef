"""eoffice signing library: PAdES signatures with pyHanko for Vietnamese government documents.

A library that takes bytes and returns bytes; it never imports the web application. Multi-step
state is handed back to the caller, which persists it. See ``signing/README.md``.
"""

from signing.appearance import (
    AgencySealAppearance,
    Appearance,
    AttachmentStampAppearance,
    Box,
    LeaderAppearance,
    format_signing_time,
    seal_box_overlapping,
)
from signing.archive import archive_horizon, renew_archive
from signing.batch import (
    SigningSession,
    finish_signatures,
    signing_process_pool,
    warm_signing_worker,
)
from signing.decree30 import (
    DATE_FIELD,
    NUMBER_FIELD,
    SEAL_FIELD,
    add_issuing_fields,
    fill_issuing_fields,
    prepare_seal_signature,
)
from signing.devpki import DevPki, generate_dev_pki, load_dev_pki, serve_dev_services
from signing.errors import (
    BadPdfError,
    CertificateRevokedError,
    DecodeLimitError,
    EncryptedPdfError,
    InvalidStateError,
    KeyProviderError,
    PdfStructureError,
    RevocationUnavailableError,
    SignatureMismatchError,
    SigningError,
    TimestampUnavailableError,
    UntrustedCertificateError,
)
from signing.hsm import (
    SOFTHSM_MODULE,
    Pkcs11Key,
    Pkcs11RsaPrivateKey,
    ProviderRsaPrivateKey,
    create_softhsm_token,
    token_certificates,
    write_softhsm_config,
)
from signing.keys import InMemoryKey, KeyProvider
from signing.samples import make_sample_pdf, make_seal_png, make_signature_png
from signing.services import SigningServices, TrustSettings, load_certificates
from signing.signature_values import control_code, ecdsa_raw_to_der
from signing.state import PadesLevel
from signing.twophase import PreparedSignature, finish_signature, prepare_signature, sign_pdf
from signing.verdicts import Verdict
from signing.verify import SignatureReport, VerificationReport, verify_pdf

__all__ = [
    "DATE_FIELD",
    "NUMBER_FIELD",
    "SEAL_FIELD",
    "SOFTHSM_MODULE",
    "AgencySealAppearance",
    "Appearance",
    "AttachmentStampAppearance",
    "BadPdfError",
    "Box",
    "CertificateRevokedError",
    "DecodeLimitError",
    "DevPki",
    "EncryptedPdfError",
    "InMemoryKey",
    "InvalidStateError",
    "KeyProvider",
    "KeyProviderError",
    "LeaderAppearance",
    "PadesLevel",
    "PdfStructureError",
    "Pkcs11Key",
    "Pkcs11RsaPrivateKey",
    "PreparedSignature",
    "ProviderRsaPrivateKey",
    "RevocationUnavailableError",
    "SignatureMismatchError",
    "SignatureReport",
    "SigningError",
    "SigningServices",
    "SigningSession",
    "TimestampUnavailableError",
    "TrustSettings",
    "UntrustedCertificateError",
    "Verdict",
    "VerificationReport",
    "add_issuing_fields",
    "archive_horizon",
    "control_code",
    "create_softhsm_token",
    "ecdsa_raw_to_der",
    "fill_issuing_fields",
    "finish_signature",
    "finish_signatures",
    "format_signing_time",
    "generate_dev_pki",
    "load_certificates",
    "load_dev_pki",
    "make_sample_pdf",
    "make_seal_png",
    "make_signature_png",
    "prepare_seal_signature",
    "prepare_signature",
    "renew_archive",
    "seal_box_overlapping",
    "serve_dev_services",
    "sign_pdf",
    "signing_process_pool",
    "token_certificates",
    "verify_pdf",
    "warm_signing_worker",
    "write_softhsm_config",
]
