"""Verification of the signatures in a PDF, with a bottom line in plain Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiohttp
from asn1crypto import x509
from pyhanko.pdf_utils.decode_limits import DecodeLimits
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.pdfinput import open_reader
from signing.services import TrustSettings

__all__ = ["SignatureReport", "VerificationReport", "verify_pdf"]


@dataclass(frozen=True)
class SignatureReport:
    """What one signature says about the document.

    Attributes:
        field_name: the signature field.
        signer_name: the signer certificate's common name.
        chain_subjects: subjects from the signer up to the trust root (as far as validated).
        signing_time: time claimed by the signer (PAdES signatures usually claim none).
        timestamp_time: time from the signature timestamp, if any.
        timestamp_trusted: whether the timestamp token is valid and trusted (``None``: no token).
        intact: the signed bytes are unchanged.
        valid: the cryptographic signature is correct.
        trusted: the certificate chains to a configured root and passed revocation checks.
        revocation: ``"good"``, ``"revoked"`` or ``"unknown"``.
        coverage: ``ENTIRE_FILE``, ``ENTIRE_REVISION`` or ``CONTIGUOUS_BLOCK_FROM_START``…
        modification_level: later changes: ``NONE``, ``LTA_UPDATES``, ``FORM_FILLING``…
        docmdp_ok: later changes are allowed by the certification/locking rules.
        certification: it is a certification (DocMDP) signature.
        pades_level: ``B-B``, ``B-T``, ``B-LT`` or ``B-LTA`` (detected from the structure).
        ok: the overall verdict.
        summary_vi: the verdict in plain Vietnamese.
        summary_en: the verdict in plain English.
    """

    field_name: str
    signer_name: str
    chain_subjects: tuple[str, ...]
    signing_time: datetime | None
    timestamp_time: datetime | None
    timestamp_trusted: bool | None
    intact: bool
    valid: bool
    trusted: bool
    revocation: str
    coverage: str
    modification_level: str
    docmdp_ok: bool
    certification: bool
    pades_level: str
    ok: bool
    summary_vi: str
    summary_en: str


@dataclass(frozen=True)
class VerificationReport:
    """All signatures of a document.

    Attributes:
        signatures: one report per signature, in signing order (document timestamps excluded).
        document_timestamps: number of document (archival) timestamps.
        ok: every signature is fine and there is at least one.
        summary_vi: overall verdict in Vietnamese.
        summary_en: overall verdict in English.
    """

    signatures: tuple[SignatureReport, ...]
    document_timestamps: int
    ok: bool
    summary_vi: str
    summary_en: str


def _cn(cert: x509.Certificate) -> str:
    name = cert.subject.native.get("common_name", "")
    return str(name[0] if isinstance(name, list) else name)


def _verdict(
    *, intact: bool, valid: bool, trusted: bool, revocation: str, docmdp_ok: bool
) -> tuple[bool, str, str]:
    if not intact or not valid:
        return (
            False,
            "Chữ ký KHÔNG hợp lệ: nội dung đã bị thay đổi sau khi ký hoặc chữ ký bị hỏng.",
            "Signature INVALID: the content changed after signing or the signature is broken.",
        )
    if revocation == "revoked":
        return (
            False,
            "Chữ ký KHÔNG hợp lệ: chứng thư số của người ký đã bị thu hồi.",
            "Signature INVALID: the signer's certificate has been revoked.",
        )
    if not docmdp_ok:
        return (
            False,
            "Chữ ký KHÔNG hợp lệ: văn bản có thay đổi không được phép sau khi ký.",
            "Signature INVALID: the document was changed in a way the signer did not allow.",
        )
    if not trusted:
        return (
            False,
            "Chưa xác thực được chữ ký: chứng thư số không thuộc tổ chức cấp được tin cậy hoặc "
            "không kiểm tra được tình trạng thu hồi.",
            "Signature NOT VERIFIED: the certificate is not from a trusted CA or its revocation "
            "status could not be checked.",
        )
    return (
        True,
        "Chữ ký hợp lệ: văn bản không bị thay đổi sau khi ký và chứng thư số được tin cậy.",
        "Signature valid: the document is unchanged since signing and the certificate is trusted.",
    )


def _revocation(status: PdfSignatureStatus) -> str:
    if status.revocation_details is not None:
        return "revoked"
    indic = status.trust_problem_indic
    if indic is not None and "REVOKED" in str(indic):
        return "revoked"
    return "good" if status.trusted else "unknown"


def _pades_level(
    sig: EmbeddedPdfSignature, status: PdfSignatureStatus, dss: bool, lta: bool
) -> str:
    if status.timestamp_validity is None:
        return "B-B"
    if not dss:
        return "B-T"
    return "B-LTA" if lta else "B-LT"


def _context(
    trust: TrustSettings, dss: DocumentSecurityStore | None, session: aiohttp.ClientSession | None
) -> ValidationContext:
    kwargs: dict[str, object] = {
        "trust_roots": list(trust.trust_roots),
        "allow_fetching": session is not None,
        "revocation_mode": "hard-fail",
    }
    if session is not None:
        kwargs["fetcher_backend"] = AIOHttpFetcherBackend(session)
    if dss is not None:
        ctx = dss.as_validation_context(kwargs)
        for cert in trust.other_certs:
            ctx.certificate_registry.register(cert)
        return ctx
    return ValidationContext(other_certs=list(trust.other_certs), **kwargs)  # type: ignore[arg-type]


async def _one(
    sig: EmbeddedPdfSignature,
    trust: TrustSettings,
    dss: DocumentSecurityStore | None,
    session: aiohttp.ClientSession | None,
    lta: bool,
) -> SignatureReport:
    signer = sig.signer_cert
    try:
        status = await async_validate_pdf_signature(
            sig,
            _context(trust, dss, session),
            ts_validation_context=_context(trust, dss, session),
        )
    except (SignatureValidationError, PdfError, ValueError, KeyError) as exc:
        vi = "Không kiểm tra được chữ ký: cấu trúc chữ ký bị hỏng."
        en = f"The signature could not be checked: {exc}"
        return SignatureReport(
            field_name=sig.field_name,
            signer_name=_cn(signer),
            chain_subjects=(signer.subject.human_friendly,),
            signing_time=None,
            timestamp_time=None,
            timestamp_trusted=None,
            intact=False,
            valid=False,
            trusted=False,
            revocation="unknown",
            coverage="UNKNOWN",
            modification_level="UNKNOWN",
            docmdp_ok=False,
            certification=sig.docmdp_level is not None,
            pades_level="unknown",
            ok=False,
            summary_vi=vi,
            summary_en=en,
        )
    path = status.validation_path
    chain = (
        tuple(cert.subject.human_friendly for cert in reversed(list(path.iter_certs(True))))
        if path is not None
        else (signer.subject.human_friendly,)
    )
    revocation = _revocation(status)
    docmdp_ok = bool(status.docmdp_ok)
    ok, vi, en = _verdict(
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revocation=revocation,
        docmdp_ok=docmdp_ok,
    )
    tst = status.timestamp_validity
    if ok and tst is not None and not tst.trusted:
        ok = False
        vi = "Chưa xác thực được dấu thời gian của chữ ký."
        en = "The signature's timestamp could not be verified."
    return SignatureReport(
        field_name=sig.field_name,
        signer_name=_cn(signer),
        chain_subjects=chain,
        signing_time=status.signer_reported_dt,
        timestamp_time=tst.timestamp if tst is not None else None,
        timestamp_trusted=tst.trusted if tst is not None else None,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revocation=revocation,
        coverage=status.coverage.name if status.coverage is not None else "UNKNOWN",
        modification_level=(
            status.modification_level.name if status.modification_level is not None else "UNKNOWN"
        ),
        docmdp_ok=docmdp_ok,
        certification=sig.docmdp_level is not None,
        pades_level=_pades_level(sig, status, dss is not None, lta),
        ok=ok,
        summary_vi=vi,
        summary_en=en,
    )


async def verify_pdf(
    *,
    pdf: bytes,
    trust: TrustSettings,
    http_session: aiohttp.ClientSession | None = None,
    decode_limits: DecodeLimits | None = None,
) -> VerificationReport:
    """Verify every signature in a PDF.

    Revocation is checked hard-fail: from the document's DSS and, if ``http_session`` is given,
    online (OCSP/CRL). Without either, signatures are reported as not verified.

    Args:
        pdf: the document (untrusted input).
        trust: trust anchors (configured, never hard-wired).
        http_session: optional aiohttp session for fetching OCSP/CRL.
        decode_limits: pyHanko decode limits for reading the input.

    Returns:
        A :class:`VerificationReport`.

    Raises:
        BadPdfError: (and subclasses) if the PDF cannot be read safely.
    """
    from signing.pdfinput import pdf_errors

    reader = open_reader(pdf, decode_limits=decode_limits)
    with pdf_errors():
        embedded = list(reader.embedded_signatures)
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    regular = [s for s in embedded if s.sig_object_type == "/Sig"]
    doc_ts = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    reports = []
    for sig in regular:
        lta = any(ts.signed_revision > sig.signed_revision for ts in doc_ts)
        reports.append(await _one(sig, trust, dss, http_session, lta))
    if not reports:
        return VerificationReport(
            signatures=(),
            document_timestamps=len(doc_ts),
            ok=False,
            summary_vi="Văn bản không có chữ ký số.",
            summary_en="The document has no digital signature.",
        )
    ok = all(r.ok for r in reports)
    bad = [r for r in reports if not r.ok]
    if ok:
        vi = f"Tất cả {len(reports)} chữ ký số trên văn bản đều hợp lệ."
        en = f"All {len(reports)} signature(s) on the document are valid."
    else:
        names = ", ".join(r.signer_name for r in bad)
        vi = f"Có {len(bad)}/{len(reports)} chữ ký chưa hợp lệ ({names}). {bad[0].summary_vi}"
        en = f"{len(bad)} of {len(reports)} signature(s) not valid ({names}). {bad[0].summary_en}"
    return VerificationReport(
        signatures=tuple(reports),
        document_timestamps=len(doc_ts),
        ok=ok,
        summary_vi=vi,
        summary_en=en,
    )
