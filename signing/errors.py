"""Errors raised by the signing library.

Every error derives from :class:`SigningError` and carries two messages: ``message_vi`` for the
person in front of the screen (Vietnamese: what happened and what to do) and ``message_en`` for logs
and English-speaking operators. ``str(error)`` is the English message.
"""

from __future__ import annotations

__all__ = [
    "BadPdfError",
    "CertificateRevokedError",
    "DecodeLimitError",
    "EncryptedPdfError",
    "InvalidStateError",
    "KeyProviderError",
    "PdfStructureError",
    "RevocationUnavailableError",
    "SignatureMismatchError",
    "SigningError",
    "TimestampUnavailableError",
    "UntrustedCertificateError",
]


class SigningError(Exception):
    """Root of every error raised by :mod:`signing`.

    Subclasses set ``default_vi`` / ``default_en``; both can be overridden per instance.
    """

    default_vi = "Không ký được văn bản. Vui lòng thử lại hoặc báo quản trị hệ thống."
    default_en = "The document could not be signed. Try again or contact the administrator."

    def __init__(self, message_en: str | None = None, *, message_vi: str | None = None) -> None:
        self.message_en = message_en or self.default_en
        self.message_vi = message_vi or self.default_vi
        super().__init__(self.message_en)


class BadPdfError(SigningError):
    """The input is not a PDF that can be read safely."""

    default_vi = (
        "Tệp không phải là PDF hợp lệ hoặc đã bị hỏng. Hãy xuất lại tệp PDF từ phần mềm soạn thảo "
        "rồi tải lên lại."
    )
    default_en = "The file is not a valid PDF or is damaged. Export the PDF again and re-upload it."


class PdfStructureError(BadPdfError):
    """The PDF is readable but has a structure that cannot be signed safely (e.g. hybrid xref)."""

    default_vi = (
        "Cấu trúc tệp PDF không được hỗ trợ để ký số (ví dụ bảng tham chiếu chéo lai). Hãy in lại "
        "tệp ra PDF chuẩn rồi tải lên lại."
    )
    default_en = (
        "The PDF's structure cannot be signed safely (e.g. hybrid cross-reference). Re-save it as "
        "a standard PDF and re-upload it."
    )


class DecodeLimitError(BadPdfError):
    """Decompressing the PDF would exceed the configured safety limits (possible PDF bomb)."""

    default_vi = (
        "Tệp PDF có nội dung nén vượt quá giới hạn an toàn, hệ thống từ chối xử lý. Hãy kiểm tra "
        "nguồn gốc tệp."
    )
    default_en = "The PDF's compressed content exceeds the safety limits; it was refused."


class EncryptedPdfError(BadPdfError):
    """The PDF is encrypted or password-protected."""

    default_vi = "Tệp PDF đang được đặt mật khẩu hoặc mã hóa. Hãy gỡ mật khẩu rồi tải lên lại."
    default_en = "The PDF is encrypted or password-protected. Remove the password and re-upload."


class InvalidStateError(SigningError):
    """The stored signing state is malformed, tampered with, or from another version."""

    default_vi = "Phiên ký không hợp lệ hoặc đã hỏng. Hãy thực hiện ký lại từ đầu."
    default_en = "The signing state is invalid or corrupted. Start the signature again."


class SignatureMismatchError(SigningError):
    """The signature value does not verify against the signer certificate and the DTBS."""

    default_vi = (
        "Chữ ký trả về không khớp với chứng thư số hoặc với dữ liệu cần ký. Văn bản chưa được ký; "
        "hãy thực hiện ký lại."
    )
    default_en = (
        "The returned signature does not match the certificate or the data to be signed. The "
        "document was not signed; sign again."
    )


class TimestampUnavailableError(SigningError):
    """The timestamp authority could not be reached or returned an unusable response."""

    default_vi = (
        "Không kết nối được máy chủ cấp dấu thời gian. Văn bản chưa được ký; hãy thử lại sau ít "
        "phút."
    )
    default_en = "The timestamp authority is unavailable. The document was not signed; retry later."


class RevocationUnavailableError(SigningError):
    """Revocation information (OCSP/CRL) for a certificate could not be obtained."""

    default_vi = (
        "Không kiểm tra được tình trạng thu hồi của chứng thư số (OCSP/CRL). Văn bản chưa được "
        "ký; hãy thử lại sau."
    )
    default_en = (
        "The certificate's revocation status (OCSP/CRL) could not be checked. The document was "
        "not signed; retry later."
    )


class CertificateRevokedError(SigningError):
    """A certificate in the signer's chain is revoked."""

    default_vi = (
        "Chứng thư số đã bị thu hồi, không thể dùng để ký. Hãy liên hệ tổ chức cấp chứng thư."
    )
    default_en = "The certificate has been revoked and cannot be used to sign."


class UntrustedCertificateError(SigningError):
    """The signer's certificate does not chain to a configured trust root or is unusable."""

    default_vi = "Chứng thư số không được tin cậy hoặc không hợp lệ để ký. Hãy liên hệ quản trị."
    default_en = "The certificate is not trusted or not valid for signing."


class KeyProviderError(SigningError):
    """The key store (HSM/token/in-memory key) failed to produce a signature."""

    default_vi = (
        "Thiết bị lưu khóa ký số không phản hồi hoặc từ chối ký. Hãy thử lại hoặc báo quản trị."
    )
    default_en = "The key store failed to produce a signature. Retry or contact the administrator."
