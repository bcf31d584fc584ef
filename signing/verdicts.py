"""The three outcomes of checking a signature (ETSI EN 319 102-1: passed, failed, indeterminate)
and what each reason says to a person, in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from signing.appearance import format_signing_time

__all__ = ["Finding", "Reason", "Verdict", "finding"]


class Verdict(StrEnum):
    """The bottom line of one signature or of a document."""

    VALID = "valid"
    INVALID = "invalid"
    INDETERMINATE = "indeterminate"


class Reason(StrEnum):
    """Why a signature got its verdict (one per signature, the most serious)."""

    OK = "ok"
    REVOKED_AFTER_SIGNING = "revoked_after_signing"
    LONG_TERM = "long_term"
    MODIFIED = "modified"
    CHANGED_AFTER_ISSUANCE = "changed_after_issuance"
    MODIFIED_AFTER_SEAL = "modified_after_seal"
    DISALLOWED_CHANGE = "disallowed_change"
    REVOKED_BEFORE_SIGNING = "revoked_before_signing"
    BROKEN = "broken"
    REVOKED_SIGNING_TIME_UNPROVEN = "revoked_signing_time_unproven"
    REVOCATION_UNKNOWN = "revocation_unknown"
    UNTRUSTED = "untrusted"
    EXPIRED_NO_PROOF = "expired_no_proof"
    NO_PROOF_OF_EXISTENCE = "no_proof_of_existence"
    TIMESTAMP_UNTRUSTED = "timestamp_untrusted"


@dataclass(frozen=True)
class Finding:
    """A verdict with its reason and the words for it.

    Attributes:
        verdict: valid, invalid or indeterminate.
        reason: the reason code.
        vi: the sentence in Vietnamese.
        en: the sentence in English.
    """

    verdict: Verdict
    reason: Reason
    vi: str
    en: str


def _t(moment: datetime | None) -> str:
    if moment is None:
        return "?"
    return format_signing_time(moment=moment)


def finding(
    reason: Reason,
    *,
    revoked_at: datetime | None = None,
    signed_at: datetime | None = None,
    fields: tuple[str, ...] = (),
    detail: str = "",
) -> Finding:
    """The verdict and the sentences for a reason.

    Args:
        reason: why.
        revoked_at: when the certificate was revoked (revocation reasons).
        signed_at: the proven signing time (the signature timestamp).
        fields: the Decree 30 fields changed after issuance (``CHANGED_AFTER_ISSUANCE``).
        detail: a technical detail appended to the English sentence.

    Returns:
        The :class:`Finding`.
    """
    V, X, Q = Verdict.VALID, Verdict.INVALID, Verdict.INDETERMINATE
    names_vi = {"so_van_ban": "số văn bản", "ngay_ban_hanh": "ngày ban hành"}
    changed_vi = ", ".join(names_vi.get(f, f) for f in fields) or "số, ngày văn bản"
    changed_en = ", ".join(
        {"so_van_ban": "number", "ngay_ban_hanh": "date"}.get(f, f) for f in fields
    )
    table: dict[Reason, tuple[Verdict, str, str]] = {
        Reason.OK: (
            V,
            "Chữ ký hợp lệ: văn bản không bị thay đổi sau khi ký và chứng thư số được tin cậy.",
            "Signature valid: the document is unchanged since signing and the certificate is "
            "trusted.",
        ),
        Reason.REVOKED_AFTER_SIGNING: (
            V,
            f"Chữ ký hợp lệ: ký lúc {_t(signed_at)} (có dấu thời gian), trước khi chứng thư số "
            f"bị thu hồi lúc {_t(revoked_at)}.",
            f"Signature valid: signed at {_t(signed_at)} (timestamped), before the certificate "
            f"was revoked at {_t(revoked_at)}.",
        ),
        Reason.LONG_TERM: (
            V,
            "Chữ ký hợp lệ (kiểm tra dài hạn): dữ liệu xác thực và dấu thời gian lưu trữ trong "
            "văn bản chứng minh chữ ký hợp lệ tại thời điểm ký.",
            "Signature valid (long-term check): the validation data and archival timestamps in "
            "the document prove the signature was valid when it was made.",
        ),
        Reason.MODIFIED: (
            X,
            "Chữ ký KHÔNG hợp lệ: nội dung đã bị thay đổi sau khi ký hoặc chữ ký bị hỏng.",
            "Signature INVALID: the content changed after signing or the signature is broken.",
        ),
        Reason.CHANGED_AFTER_ISSUANCE: (
            X,
            f"Chữ ký KHÔNG hợp lệ: {changed_vi} đã bị sửa sau khi ban hành (sau khi đóng dấu).",
            f"Signature INVALID: the document's {changed_en or 'number/date'} was changed after "
            "issuance (after the seal).",
        ),
        Reason.MODIFIED_AFTER_SEAL: (
            X,
            "Chữ ký KHÔNG hợp lệ: văn bản đã bị thay đổi sau khi đóng dấu ban hành (chỉ được "
            "thêm dữ liệu xác thực và dấu thời gian lưu trữ).",
            "Signature INVALID: the document was changed after the seal (only validation data "
            "and archival timestamps may be added).",
        ),
        Reason.DISALLOWED_CHANGE: (
            X,
            "Chữ ký KHÔNG hợp lệ: văn bản có thay đổi không được phép sau khi ký.",
            "Signature INVALID: the document was changed in a way the signer did not allow.",
        ),
        Reason.REVOKED_BEFORE_SIGNING: (
            X,
            f"Chữ ký KHÔNG hợp lệ: chứng thư số đã bị thu hồi lúc {_t(revoked_at)}, trước khi "
            f"ký ({_t(signed_at)}).",
            f"Signature INVALID: the certificate was revoked at {_t(revoked_at)}, before "
            f"signing ({_t(signed_at)}).",
        ),
        Reason.BROKEN: (
            X,
            "Không kiểm tra được chữ ký: cấu trúc chữ ký bị hỏng.",
            "The signature could not be checked: its structure is broken.",
        ),
        Reason.REVOKED_SIGNING_TIME_UNPROVEN: (
            Q,
            f"Chưa xác định được hiệu lực chữ ký: chứng thư số đã bị thu hồi lúc {_t(revoked_at)} "
            "và chữ ký không có dấu thời gian chứng minh nó được ký trước đó.",
            f"Signature INDETERMINATE: the certificate was revoked at {_t(revoked_at)} and no "
            "timestamp proves the signature was made before that.",
        ),
        Reason.REVOCATION_UNKNOWN: (
            Q,
            "Chưa xác định được hiệu lực chữ ký: không kiểm tra được tình trạng thu hồi của chứng "
            "thư số (thử lại khi có kết nối mạng).",
            "Signature INDETERMINATE: the certificate's revocation status could not be checked "
            "(try again when online).",
        ),
        Reason.UNTRUSTED: (
            Q,
            "Chưa xác định được hiệu lực chữ ký: chứng thư số không thuộc tổ chức cấp được tin "
            "cậy.",
            "Signature INDETERMINATE: the certificate is not from a trusted certification "
            "authority.",
        ),
        Reason.EXPIRED_NO_PROOF: (
            Q,
            "Chưa xác định được hiệu lực chữ ký: chứng thư số đã hết hạn và văn bản không có dấu "
            "thời gian chứng minh chữ ký có trước đó.",
            "Signature INDETERMINATE: the certificate has expired and nothing in the document "
            "proves the signature existed before.",
        ),
        Reason.NO_PROOF_OF_EXISTENCE: (
            Q,
            "Chưa xác định được hiệu lực chữ ký: văn bản thiếu dấu thời gian lưu trữ để chứng "
            "minh chữ ký và dữ liệu xác thực có từ khi ký.",
            "Signature INDETERMINATE: no archival timestamp proves that the signature and its "
            "validation data existed at signing time.",
        ),
        Reason.TIMESTAMP_UNTRUSTED: (
            Q,
            "Chưa xác thực được dấu thời gian của chữ ký.",
            "The signature's timestamp could not be verified.",
        ),
    }
    verdict, vi, en = table[reason]
    if detail:
        en = f"{en} ({detail})"
    return Finding(verdict=verdict, reason=reason, vi=vi, en=en)
