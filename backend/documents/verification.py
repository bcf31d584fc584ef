"""Checking the digital signatures of incoming PDFs (Decree 30: check authenticity and
integrity on receipt), with the signing library and the configured trust roots."""

from __future__ import annotations

from pathlib import Path

from signing import (
    SignatureReport,
    SigningError,
    TrustSettings,
    load_certificates,
    load_dev_pki,
    verify_pdf,
)


class SignatureChecker:
    """Turns a PDF into the small report stored with the document and shown next to it."""

    def __init__(self, trust: TrustSettings | None) -> None:
        self.trust = trust

    async def check(self, pdf: bytes, *, has_signatures: bool) -> dict[str, object]:
        if not has_signatures:
            return {"status": "unsigned"}
        if self.trust is None:
            return {"status": "not_verified", "reason": "no trust roots configured"}
        try:
            report = await verify_pdf(pdf=pdf, trust=self.trust)
        except SigningError as exc:
            return {"status": "invalid", "summary_vi": exc.message_vi, "summary_en": exc.message_en}
        return {
            "status": report.verdict.value,
            "summary_vi": report.summary_vi,
            "summary_en": report.summary_en,
            "signatures": [_signature(s) for s in report.signatures],
        }


def _signature(s: SignatureReport) -> dict[str, object]:
    when = s.timestamp_time or s.signing_time
    return {
        "signer": s.signer_name,
        # In which form and for whom the signer signed, as the signature itself states it.
        "stated_reason": s.stated_reason,
        "ok": s.ok,
        "verdict": s.verdict.value,
        "reason": s.reason,
        "changed_after_signing": list(s.changed_after_signing),
        "intact": s.intact,
        "trusted": s.trusted,
        "time": when.isoformat() if when else None,
        "level": s.pades_level,
        "summary_vi": s.summary_vi,
        "summary_en": s.summary_en,
    }


def load_trust(*, roots_file: str, dev_pki_dir: Path) -> TrustSettings | None:
    """Configured roots (a PEM bundle) win; otherwise the dev PKI's, if one was made here."""
    if roots_file:
        return TrustSettings(trust_roots=load_certificates(data=Path(roots_file).read_bytes()))
    if (dev_pki_dir / "certomancer.json").exists():
        return load_dev_pki(directory=dev_pki_dir).trust
    return None
