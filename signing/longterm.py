"""Judging a signature over time (ETSI EN 319 102-1) when its certificate's current status is the
only problem: revoked, expired, or its revocation data no longer current.

The proof that a signature existed at a time comes from the document itself: the signature
timestamp (validation with time, § 5.5) and the document timestamps added after it, with the
validation data they cover (long-term availability and integrity, § 5.6.3). pyHanko implements
both processes (``pyhanko.sign.validation.ades``); this module runs them with the configured
trust roots and turns their indications into a :class:`signing.verdicts.Finding`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESStatus
from pyhanko.sign.validation.ades import (
    AdESBasicValidationResult,
    _dss_to_local_knowledge,  # pyHanko 0.38: the DSS as local knowledge, as its LTA process does
    ades_lta_validation,
    ades_with_time_validation,
)
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from signing.services import TrustSettings
from signing.verdicts import Finding, Reason, finding

__all__ = ["OverTime", "judge_over_time"]


@dataclass(frozen=True)
class OverTime:
    """The outcome of judging a signature over time.

    Attributes:
        finding: the verdict, reason and sentences.
        revoked_at: when the signer's certificate was revoked, if the process found out.
        indication: pyHanko's AdES indication, e.g. ``PASSED/OK``, ``INDETERMINATE/NO_POE``.
    """

    finding: Finding
    revoked_at: datetime | None
    indication: str


def _policy(trust: TrustSettings, rule: RevocationCheckingRule) -> CertValidationPolicySpec:
    return CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=list(trust.trust_roots)),
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(ee_certificate_rule=rule, intermediate_ca_cert_rule=rule)
        ),
    )


def _spec(
    sig: EmbeddedPdfSignature, trust: TrustSettings, session: aiohttp.ClientSession | None
) -> SignatureValidationSpec:
    knowledge = _dss_to_local_knowledge(sig.reader)
    knowledge = dataclasses.replace(
        knowledge, known_certs=[*knowledge.known_certs, *trust.other_certs]
    )
    required = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
    if session is not None:
        return SignatureValidationSpec(
            cert_validation_policy=_policy(trust, required),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.ALWAYS_FETCH,
                fetcher_backend=AIOHttpFetcherBackend(session),
            ),
            local_knowledge=knowledge,
        )
    # Offline, from the document's own data: the newest timestamp's TSA certificate can have no
    # embedded revocation data (the next archival renewal adds it), so timestamp certificates
    # are checked for validity and path but not for revocation; signers' certificates are.
    return SignatureValidationSpec(
        cert_validation_policy=_policy(trust, required),
        ts_cert_validation_policy=_policy(trust, RevocationCheckingRule.NO_CHECK),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
        local_knowledge=knowledge,
    )


def _revoked_at(result: AdESBasicValidationResult) -> datetime | None:  # type: ignore[type-arg]
    status = result.api_status
    details = getattr(status, "revocation_details", None)
    return details.revocation_date if details is not None else None


def _indication(result: AdESBasicValidationResult) -> str:  # type: ignore[type-arg]
    sub = result.ades_subindic
    return f"{sub.status.name}/{getattr(sub, 'name', sub)}"


_INDETERMINATE = {
    AdESIndeterminate.TRY_LATER: Reason.REVOCATION_UNKNOWN,
    AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE: Reason.REVOCATION_UNKNOWN,
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND: Reason.UNTRUSTED,
    AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE: Reason.UNTRUSTED,
    AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE: Reason.REVOCATION_UNKNOWN,
    AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND: Reason.UNTRUSTED,
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE: Reason.EXPIRED_NO_PROOF,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED: Reason.EXPIRED_NO_PROOF,
    AdESIndeterminate.EXPIRED: Reason.EXPIRED_NO_PROOF,
    AdESIndeterminate.NO_POE: Reason.NO_PROOF_OF_EXISTENCE,
}


def _from_indication(
    result: AdESBasicValidationResult,  # type: ignore[type-arg]
    *,
    lta: bool,
    revoked_at: datetime | None,
    signed_at: datetime | None,
) -> Finding:
    sub = result.ades_subindic
    detail = _indication(result)
    if sub.status == AdESStatus.PASSED:
        if revoked_at is not None:
            return finding(Reason.REVOKED_AFTER_SIGNING, revoked_at=revoked_at, signed_at=signed_at)
        return finding(Reason.LONG_TERM if lta else Reason.OK)
    revoked = sub in (AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE)
    if sub == AdESFailure.REVOKED or (
        revoked and signed_at is not None and revoked_at is not None and revoked_at <= signed_at
    ):
        # The signature timestamp (a proof of existence) is after the revocation: the key was
        # used after it had been revoked.
        return finding(Reason.REVOKED_BEFORE_SIGNING, revoked_at=revoked_at, signed_at=signed_at)
    if revoked:
        return finding(Reason.REVOKED_SIGNING_TIME_UNPROVEN, revoked_at=revoked_at, detail=detail)
    if sub.status == AdESStatus.FAILED:
        return finding(Reason.MODIFIED, detail=detail)
    reason = _INDETERMINATE.get(sub, Reason.REVOCATION_UNKNOWN)  # type: ignore[call-overload]
    return finding(reason, detail=f"{detail}: {result.failure_msg or ''}".rstrip(": "))


async def judge_over_time(
    sig: EmbeddedPdfSignature,
    *,
    trust: TrustSettings,
    session: aiohttp.ClientSession | None,
    at: datetime | None,
    lta: bool,
    revoked_at: datetime | None,
    signed_at: datetime | None,
) -> OverTime:
    """Judge one intact signature against the proofs of existence in its document.

    Args:
        sig: the embedded signature (its bytes already checked intact and valid).
        trust: the trust anchors.
        session: fetch current OCSP/CRL through it; ``None`` uses the document's data only.
        at: the validation time (default: now).
        lta: a document timestamp follows the signature (run the long-term process first).
        revoked_at: the revocation time found by the standard validation, if any.
        signed_at: the time of the signature's (valid) timestamp, if any.

    Returns:
        The :class:`OverTime` outcome.
    """
    moment = at or datetime.now(UTC)
    timing = ValidationTimingInfo(
        validation_time=moment, best_signature_time=moment, point_in_time_validation=False
    )
    spec = _spec(sig, trust, session)
    result: AdESBasicValidationResult  # type: ignore[type-arg]
    if lta:
        result = await ades_lta_validation(
            sig, PdfSignatureValidationSpec(spec), timing_info=timing
        )
        if result.ades_subindic.status == AdESStatus.PASSED:
            revoked_at = _revoked_at(result) or revoked_at
            return OverTime(
                finding=_from_indication(
                    result, lta=True, revoked_at=revoked_at, signed_at=signed_at
                ),
                revoked_at=revoked_at,
                indication=_indication(result),
            )
    result = await ades_with_time_validation(
        sig.signed_data, spec, raw_digest=sig.compute_digest(), timing_info=timing
    )
    revoked_at = _revoked_at(result) or revoked_at
    return OverTime(
        finding=_from_indication(result, lta=False, revoked_at=revoked_at, signed_at=signed_at),
        revoked_at=revoked_at,
        indication=_indication(result),
    )
