"""Verification of the signatures in a PDF: valid, invalid or indeterminate per signature, with
the reason in plain Vietnamese and English.

Each signature is first checked by pyHanko's standard validation at the validation time
(integrity, the cryptographic signature, the modification analysis, the certificate path with
hard-fail revocation). When only the certificate's status stands in the way (revoked, expired,
revocation data out of date), the signature is judged over time as ETSI EN 319 102-1 does,
against the proofs of existence in the document: the signature timestamp ("validation with
time", § 5.5) and, after it, the document timestamps ("long-term availability", § 5.6.3). A
signer revoked *after* a timestamped signature therefore keeps a valid signature; one revoked
before it does not.

Decree 30 issuing (see :mod:`signing.decree30`): the agency seal locks the number and date
fields; after the seal only validation data and document (archival) timestamps may be added.
A re-filled number or date, or any other change after the seal, makes the seal invalid, and the
report says what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiohttp
from asn1crypto import ocsp, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import DecodeLimits
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.decree30 import DATE_FIELD, NUMBER_FIELD, SEAL_FIELD
from signing.longterm import judge_over_time
from signing.pdfinput import open_reader, pdf_errors
from signing.services import TrustSettings
from signing.verdicts import Finding, Reason, Verdict, finding

__all__ = ["SignatureReport", "Verdict", "VerificationReport", "verify_pdf"]

LOCKED_BY_SEAL = (NUMBER_FIELD, DATE_FIELD)


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
        trusted: the certificate chains to a configured root and passed revocation checks at
            the validation time (a signature may still be valid without it, see ``verdict``).
        revocation: ``"good"``, ``"revoked"`` (before signing, or signing time unproven),
            ``"revoked_after_signing"`` or ``"unknown"``.
        revoked_at: when the signer's certificate was revoked, if it was.
        coverage: ``ENTIRE_FILE``, ``ENTIRE_REVISION`` or ``CONTIGUOUS_BLOCK_FROM_START``…
        modification_level: later changes: ``NONE``, ``LTA_UPDATES``, ``FORM_FILLING``…
        docmdp_ok: later changes are allowed by the certification/locking rules.
        certification: it is a certification (DocMDP) signature.
        pades_level: ``B-B``, ``B-T``, ``B-LT`` or ``B-LTA``: what this signature has (its
            own timestamp; validation data for its certificate in the DSS; a document timestamp
            after it).
        changed_after_signing: Decree 30 fields (number, date) whose value this signature
            covered and which were changed afterwards.
        verdict: valid, invalid or indeterminate.
        reason: the reason code of the verdict (:class:`signing.verdicts.Reason`).
        ok: ``verdict`` is valid.
        summary_vi: the verdict in plain Vietnamese.
        summary_en: the verdict in plain English.
        stated_reason: the signature dictionary's ``/Reason`` (covered by the signature): for a
            signer who signs for someone, eOffice states there in which form and for whom
            ("… — KT. CHỦ TỊCH / PHÓ CHỦ TỊCH (ký thay Chủ tịch)").
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
    revoked_at: datetime | None
    coverage: str
    modification_level: str
    docmdp_ok: bool
    certification: bool
    pades_level: str
    changed_after_signing: tuple[str, ...]
    verdict: Verdict
    reason: str
    ok: bool
    summary_vi: str
    summary_en: str
    stated_reason: str = ""


@dataclass(frozen=True)
class VerificationReport:
    """All signatures of a document.

    Attributes:
        signatures: one report per signature, in signing order (document timestamps excluded).
        document_timestamps: number of document (archival) timestamps.
        verdict: invalid if any signature is invalid; else indeterminate if any is; else valid
            (and invalid when there is no signature at all).
        ok: every signature is valid and there is at least one.
        summary_vi: overall verdict in Vietnamese.
        summary_en: overall verdict in English.
    """

    signatures: tuple[SignatureReport, ...]
    document_timestamps: int
    verdict: Verdict
    ok: bool
    summary_vi: str
    summary_en: str


def _cn(cert: x509.Certificate) -> str:
    name = cert.subject.native.get("common_name", "")
    return str(name[0] if isinstance(name, list) else name)


def _context(
    trust: TrustSettings,
    dss: DocumentSecurityStore | None,
    session: aiohttp.ClientSession | None,
    at: datetime | None,
) -> ValidationContext:
    kwargs: dict[str, object] = {
        "trust_roots": list(trust.trust_roots),
        "allow_fetching": session is not None,
        # Offline with no DSS there is nothing to check revocation with: pyHanko refuses a
        # hard-fail context then, so integrity is checked soft and trust is judged over time.
        "revocation_mode": "hard-fail" if session is not None or dss is not None else "soft-fail",
    }
    if at is not None:
        kwargs["moment"] = at
    if session is not None:
        kwargs["fetcher_backend"] = AIOHttpFetcherBackend(session)
    if dss is not None:
        ctx = dss.as_validation_context(kwargs)
        for cert in trust.other_certs:
            ctx.certificate_registry.register(cert)
        return ctx
    return ValidationContext(other_certs=list(trust.other_certs), **kwargs)  # type: ignore[arg-type]


def _field_values(reader: PdfFileReader, revision: int | None) -> dict[str, str]:
    """Text field values (``/T`` → ``/V``) at a revision (``None``: the final one)."""
    root = reader.root if revision is None else reader.get_historical_root(revision)
    if "/AcroForm" not in root:
        return {}
    form = root["/AcroForm"]  # [] dereferences, .get() would not
    if not isinstance(form, generic.DictionaryObject) or "/Fields" not in form:
        return {}
    values: dict[str, str] = {}
    for ref in form["/Fields"]:
        field = ref.get_object()
        if "/FT" in field and field["/FT"] == "/Tx" and "/T" in field:
            values[str(field["/T"])] = str(field["/V"]) if "/V" in field else ""
    return values


def _changed_after(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> tuple[str, ...]:
    """Locked Decree 30 fields that held a value when ``sig`` signed and differ now."""
    then = _field_values(reader, sig.signed_revision)
    now = _field_values(reader, None)
    return tuple(
        name for name in LOCKED_BY_SEAL if then.get(name) and then.get(name) != now.get(name)
    )


def _covers_signer(dss: DocumentSecurityStore | None, sig: EmbeddedPdfSignature) -> bool:
    """The DSS holds validation data gathered for this signature (B-LT): its VRI entry, or an
    OCSP response about the signer's certificate. (A CRL of the same CA gathered for an
    earlier signature does not make a later one B-LT; a CA with CRLs only and no VRI is
    reported as B-T.)"""
    if dss is None:
        return False
    if DocumentSecurityStore.sig_content_identifier(sig.pkcs7_content) in dss.vri_entries:
        return True
    serial = sig.signer_cert.serial_number
    for ref in dss.ocsps:
        try:
            response = ocsp.OCSPResponse.load(ref.get_object().data)
            basic = response["response_bytes"]["response"].parsed
            if any(
                single["cert_id"]["serial_number"].native == serial
                for single in basic["tbs_response_data"]["responses"]
            ):
                return True
        except (ValueError, KeyError, TypeError):
            continue
    return False


def _pades_level(
    status: PdfSignatureStatus,
    dss: DocumentSecurityStore | None,
    sig: EmbeddedPdfSignature,
    lta: bool,
) -> str:
    if status.timestamp_validity is None:
        return "B-B"
    if not _covers_signer(dss, sig):
        return "B-T"
    return "B-LTA" if lta else "B-LT"


def _broken(sig: EmbeddedPdfSignature, exc: Exception) -> SignatureReport:
    found = finding(Reason.BROKEN, detail=str(exc))
    return SignatureReport(
        field_name=sig.field_name,
        signer_name=_cn(sig.signer_cert),
        chain_subjects=(sig.signer_cert.subject.human_friendly,),
        signing_time=None,
        timestamp_time=None,
        timestamp_trusted=None,
        intact=False,
        valid=False,
        trusted=False,
        revocation="unknown",
        revoked_at=None,
        coverage="UNKNOWN",
        modification_level="UNKNOWN",
        docmdp_ok=False,
        certification=sig.docmdp_level is not None,
        pades_level="unknown",
        changed_after_signing=(),
        verdict=found.verdict,
        reason=found.reason.value,
        ok=False,
        summary_vi=found.vi,
        summary_en=found.en,
        stated_reason=_stated_reason(sig),
    )


def _integrity(
    sig: EmbeddedPdfSignature, status: PdfSignatureStatus, changed: tuple[str, ...]
) -> Finding | None:
    """What is wrong with the document or the signature itself (not with the certificate)."""
    if not status.intact or not status.valid:
        return finding(Reason.MODIFIED)
    if changed:
        return finding(Reason.CHANGED_AFTER_ISSUANCE, fields=changed)
    level = status.modification_level
    if sig.field_name == SEAL_FIELD and level not in (
        None,
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
    ):
        return finding(Reason.MODIFIED_AFTER_SEAL, detail=f"modification level {level.name}")
    if not status.docmdp_ok:
        return finding(Reason.DISALLOWED_CHANGE)
    return None


async def _one(
    reader: PdfFileReader,
    sig: EmbeddedPdfSignature,
    trust: TrustSettings,
    dss: DocumentSecurityStore | None,
    session: aiohttp.ClientSession | None,
    lta: bool,
    at: datetime | None,
) -> SignatureReport:
    signer = sig.signer_cert
    try:
        status = await async_validate_pdf_signature(
            sig,
            _context(trust, dss, session, at),
            ts_validation_context=_context(trust, dss, session, at),
        )
        changed = _changed_after(reader, sig)
    except (SignatureValidationError, PdfError, ValueError, KeyError) as exc:
        return _broken(sig, exc)
    path = status.validation_path
    chain = (
        tuple(cert.subject.human_friendly for cert in reversed(list(path.iter_certs(True))))
        if path is not None
        else (signer.subject.human_friendly,)
    )
    tst = status.timestamp_validity
    signed_at = tst.timestamp if tst is not None and tst.intact and tst.valid else None
    details = status.revocation_details
    revoked_at = details.revocation_date if details is not None else None
    judged = _integrity(sig, status, changed)
    checked = session is not None or dss is not None  # revocation really checked (hard-fail)
    revocation = "good" if status.trusted and checked else "unknown"
    if judged is None and checked and status.trusted and (tst is None or tst.trusted):
        judged = finding(Reason.OK)
    if judged is None:
        # Only the certificate's (or the timestamp's) status stands in the way: judge it over
        # time against the proofs of existence in the document.
        over_time = await judge_over_time(
            sig,
            trust=trust,
            session=session,
            at=at,
            lta=lta,
            revoked_at=revoked_at,
            signed_at=signed_at,
        )
        judged = over_time.finding
        revoked_at = over_time.revoked_at or revoked_at
        if judged.reason == Reason.REVOKED_AFTER_SIGNING:
            revocation = "revoked_after_signing"
        elif judged.reason in (
            Reason.REVOKED_BEFORE_SIGNING,
            Reason.REVOKED_SIGNING_TIME_UNPROVEN,
        ):
            revocation = "revoked"
        elif judged.verdict == Verdict.VALID:
            revocation = "good"
    elif revoked_at is not None:
        revocation = "revoked"
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
        revoked_at=revoked_at,
        coverage=status.coverage.name if status.coverage is not None else "UNKNOWN",
        modification_level=(
            status.modification_level.name if status.modification_level is not None else "UNKNOWN"
        ),
        docmdp_ok=bool(status.docmdp_ok),
        certification=sig.docmdp_level is not None,
        pades_level=_pades_level(status, dss, sig, lta),
        changed_after_signing=changed,
        verdict=judged.verdict,
        reason=judged.reason.value,
        ok=judged.verdict == Verdict.VALID,
        summary_vi=judged.vi,
        summary_en=judged.en,
        stated_reason=_stated_reason(sig),
    )


def _stated_reason(sig: EmbeddedPdfSignature) -> str:
    reason = sig.sig_object.get("/Reason")
    return str(reason) if reason is not None else ""


def _overall(reports: list[SignatureReport]) -> tuple[Verdict, str, str]:
    n = len(reports)
    invalid = [r for r in reports if r.verdict == Verdict.INVALID]
    unknown = [r for r in reports if r.verdict == Verdict.INDETERMINATE]
    if invalid:
        names = ", ".join(r.signer_name for r in invalid)
        return (
            Verdict.INVALID,
            f"Có {len(invalid)}/{n} chữ ký KHÔNG hợp lệ ({names}). {invalid[0].summary_vi}",
            f"{len(invalid)} of {n} signature(s) INVALID ({names}). {invalid[0].summary_en}",
        )
    if unknown:
        names = ", ".join(r.signer_name for r in unknown)
        return (
            Verdict.INDETERMINATE,
            f"Có {len(unknown)}/{n} chữ ký chưa xác định được hiệu lực ({names}). "
            f"{unknown[0].summary_vi}",
            f"{len(unknown)} of {n} signature(s) INDETERMINATE ({names}). {unknown[0].summary_en}",
        )
    return (
        Verdict.VALID,
        f"Tất cả {n} chữ ký số trên văn bản đều hợp lệ.",
        f"All {n} signature(s) on the document are valid.",
    )


async def verify_pdf(
    *,
    pdf: bytes,
    trust: TrustSettings,
    http_session: aiohttp.ClientSession | None = None,
    decode_limits: DecodeLimits | None = None,
    at: datetime | None = None,
) -> VerificationReport:
    """Verify every signature in a PDF.

    Revocation is checked hard-fail: from the document's DSS and, if ``http_session`` is given,
    online (OCSP/CRL). A certificate problem (revoked, expired, no current revocation data) is
    then judged against the proofs of existence in the document (ETSI EN 319 102-1 validation
    with time and long-term validation), so that a signature timestamped before a revocation
    stays valid and an archived (B-LTA) document validates years later from its embedded data.

    Args:
        pdf: the document (untrusted input).
        trust: trust anchors (configured, never hard-wired).
        http_session: optional aiohttp session for fetching OCSP/CRL.
        decode_limits: pyHanko decode limits for reading the input.
        at: the validation time (default: now), e.g. years after signing.

    Returns:
        A :class:`VerificationReport`.

    Raises:
        BadPdfError: (and subclasses) if the PDF cannot be read safely.
    """
    reader = open_reader(pdf, decode_limits=decode_limits)
    with pdf_errors():
        embedded = list(reader.embedded_signatures)
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    regular = [s for s in embedded if s.sig_object_type == "/Sig"]
    doc_ts = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    reports = []
    for sig in regular:
        lta = any(ts.signed_revision > sig.signed_revision for ts in doc_ts)
        reports.append(await _one(reader, sig, trust, dss, http_session, lta, at))
    if not reports:
        return VerificationReport(
            signatures=(),
            document_timestamps=len(doc_ts),
            verdict=Verdict.INVALID,
            ok=False,
            summary_vi="Văn bản không có chữ ký số.",
            summary_en="The document has no digital signature.",
        )
    verdict, vi, en = _overall(reports)
    return VerificationReport(
        signatures=tuple(reports),
        document_timestamps=len(doc_ts),
        verdict=verdict,
        ok=verdict == Verdict.VALID,
        summary_vi=vi,
        summary_en=en,
    )
