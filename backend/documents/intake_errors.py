"""Refusals at the clerk's desk. Each says what happened and what to do, in Vietnamese first."""

from __future__ import annotations

from backend.core.errors import EofficeError, ValidationError


class IntakeError(ValidationError):
    """An uploaded file cannot be accepted; nothing was stored."""


class NotPdfError(IntakeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tệp “{name}” không phải là tệp PDF (dù có đuôi .pdf). Hãy chọn đúng tệp PDF.",
            f"“{name}” is not a PDF file (whatever its name says). Choose the PDF itself.",
        )


class DamagedPdfError(IntakeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tệp “{name}” bị hỏng hoặc không đầy đủ, không đọc được. Hãy xin lại bản gốc.",
            f"“{name}” is damaged or truncated and cannot be read. Ask for the original again.",
        )


class EncryptedPdfError(IntakeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tệp “{name}” được đặt mật khẩu. Hãy đề nghị nơi gửi cung cấp bản không mật khẩu.",
            f"“{name}” is password-protected. Ask the sender for an unprotected copy.",
        )


class TooLargeError(IntakeError):
    def __init__(self, name: str, limit_mb: int) -> None:
        super().__init__(
            f"Tệp “{name}” vượt quá dung lượng cho phép ({limit_mb} MB).",
            f"“{name}” is larger than the {limit_mb} MB limit.",
        )


class TooManyPagesError(IntakeError):
    def __init__(self, name: str, limit: int) -> None:
        super().__init__(
            f"Tệp “{name}” có quá {limit} trang. Hãy tách thành nhiều tệp.",
            f"“{name}” has more than {limit} pages. Split it into several files.",
        )


class EmptyPdfError(IntakeError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Tệp “{name}” không có trang nào.", f"“{name}” has no pages.")


class DecompressionBombError(IntakeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tệp “{name}” chứa dữ liệu nén bất thường (có thể gây treo hệ thống) nên bị từ chối.",
            f"“{name}” contains abnormally compressed data and was refused for safety.",
        )


class NotImageError(IntakeError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Tệp “{name}” không phải ảnh hợp lệ (JPEG, PNG, TIFF hoặc HEIC).",
            f"“{name}” is not a valid image (JPEG, PNG, TIFF or HEIC).",
        )


class SecretDocumentError(EofficeError):
    """State-secret documents never enter this system."""

    status_code = 422

    def __init__(self, level: str) -> None:
        super().__init__(
            f"Văn bản có độ mật “{level}” không được xử lý trên hệ thống này. Hãy chuyển qua "
            "kênh văn bản mật (bản giấy) theo quy định bảo vệ bí mật nhà nước. Không có dữ liệu "
            "nào được lưu.",
            f"Documents classified “{level}” are not handled here: use the secret channel "
            "(paper) as the state-secret rules require. Nothing was stored.",
        )
