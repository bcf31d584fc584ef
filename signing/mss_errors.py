"""Errors of the SIM-PKI (Mobile Signature Service) client, one per ETSI TS 102 204 status.

Each class carries a Vietnamese message a leader understands (what happened, what to do) and an
English one for logs. :func:`error_for_status` turns an MSS status code into the matching error.
"""

from __future__ import annotations

from signing.errors import SignatureMismatchError, SigningError

__all__ = [
    "MssCardBlockedError",
    "MssCertificateProblemError",
    "MssError",
    "MssExpiredError",
    "MssInternalError",
    "MssInvalidInputError",
    "MssNoCertificateError",
    "MssNoKeyError",
    "MssPhoneUnreachableError",
    "MssPinBlockedError",
    "MssPollTimeoutError",
    "MssProtocolError",
    "MssRequestError",
    "MssRevokedCertificateError",
    "MssSignatureMismatchError",
    "MssUnauthorizedError",
    "MssUnavailableError",
    "MssUnknownUserError",
    "MssUserCancelledError",
    "NotificationAlgorithmError",
    "NotificationClaimsError",
    "NotificationError",
    "NotificationExpiredError",
    "NotificationReplayError",
    "NotificationSignatureError",
    "error_for_status",
]


class MssError(SigningError):
    """Root of the MSS errors; ``code`` is the MSS status code when the MSSP sent one.

    Instances of this class itself stand for a status code the client has no specific class for.
    """

    default_vi = (
        "Dịch vụ ký số qua SIM báo lỗi. Vui lòng thử lại; nếu vẫn lỗi, báo bộ phận CNTT "
        "của cơ quan."
    )
    default_en = "The SIM signing service reported an error. Retry, or contact IT support."

    def __init__(
        self,
        message_en: str | None = None,
        *,
        message_vi: str | None = None,
        code: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.code = code
        self.detail = detail
        if code is not None and message_en is None and message_vi is None:
            message_en = f"{self.default_en} (MSS status {code})"
            message_vi = f"{self.default_vi} (Mã lỗi {code})"
        super().__init__(message_en, message_vi=message_vi)


class MssRequestError(MssError):
    """101, 102, 103, 107, 108, 109: the MSSP rejected the request as malformed."""

    default_vi = (
        "Yêu cầu ký số gửi đến nhà mạng không hợp lệ. Văn bản chưa được ký; vui lòng báo bộ phận "
        "CNTT của cơ quan."
    )
    default_en = "The MSSP rejected the signature request as malformed. Nothing was signed."


class MssUnauthorizedError(MssError):
    """104: the MSSP does not accept our AP credentials."""

    default_vi = (
        "Hệ thống văn phòng điện tử chưa được nhà mạng cấp quyền dùng dịch vụ ký số qua SIM. "
        "Vui lòng báo bộ phận CNTT của cơ quan."
    )
    default_en = "The MSSP refused this application's credentials (unauthorized access)."


class MssUnknownUserError(MssError):
    """105: the phone number is not a customer of the MSSP's signature service."""

    default_vi = (
        "Số điện thoại này chưa đăng ký dịch vụ ký số qua SIM. Vui lòng kiểm tra lại số điện "
        "thoại hoặc liên hệ nhà mạng để đăng ký."
    )
    default_en = "This phone number is not registered for the SIM signature service."


class MssExpiredError(MssError):
    """208: the user did not answer on the phone in time."""

    default_vi = (
        "Yêu cầu ký đã hết hạn vì chưa được xác nhận trên điện thoại. Vui lòng bấm ký lại và "
        "nhập mã PIN trên điện thoại."
    )
    default_en = "The signature request expired before it was confirmed on the phone."


class MssPhoneUnreachableError(MssError):
    """209: OTA error — phone off, out of coverage, or SIM application not reachable."""

    default_vi = (
        "Không liên lạc được với điện thoại (máy tắt, ngoài vùng phủ sóng hoặc SIM không phản "
        "hồi). Vui lòng bật máy, kiểm tra sóng rồi ký lại."
    )
    default_en = "The phone could not be reached (switched off, no coverage or SIM not answering)."


class MssUserCancelledError(MssError):
    """401: the user pressed cancel on the phone."""

    default_vi = "Bạn đã huỷ ký trên điện thoại. Văn bản chưa được ký."
    default_en = "You cancelled the signature on your phone. The document was not signed."


class MssPinBlockedError(MssError):
    """402: the signing PIN is blocked after too many wrong entries."""

    default_vi = (
        "Mã PIN ký số trên SIM đã bị khoá do nhập sai nhiều lần. Vui lòng liên hệ nhà mạng để "
        "mở khoá trước khi ký."
    )
    default_en = "The signing PIN on the SIM is blocked after too many wrong attempts."


class MssCardBlockedError(MssError):
    """403: the SIM card (or its PUK) is blocked."""

    default_vi = "Thẻ SIM ký số đã bị khoá. Vui lòng liên hệ nhà mạng để được hỗ trợ."
    default_en = "The signature SIM card is blocked."


class MssNoKeyError(MssError):
    """404: no signing key on the SIM (or wrong key usage)."""

    default_vi = (
        "Không tìm thấy khoá ký số trên SIM của bạn. Vui lòng liên hệ nhà mạng để kiểm tra SIM "
        "ký số."
    )
    default_en = "No signing key was found on the SIM."


class MssNoCertificateError(MssError):
    """422: no certificate for the user's key."""

    default_vi = (
        "Không tìm thấy chứng thư số của số điện thoại này. Vui lòng liên hệ nhà mạng hoặc bộ "
        "phận CNTT để được cấp chứng thư số."
    )
    default_en = "No certificate was found for this phone number."


class MssRevokedCertificateError(MssError):
    """501: the MSSP reports the user's certificate as revoked."""

    default_vi = (
        "Chứng thư số trên SIM đã bị thu hồi, không thể dùng để ký. Vui lòng liên hệ nhà mạng."
    )
    default_en = "The certificate on the SIM has been revoked."


class MssCertificateProblemError(MssError):
    """423, 424, 425: the MSSP could not check the certificate (CRL problem, bad certificate)."""

    default_vi = (
        "Nhà mạng không kiểm tra được chứng thư số trên SIM. Vui lòng thử lại sau; nếu vẫn lỗi, "
        "liên hệ nhà mạng."
    )
    default_en = "The MSSP could not check the SIM certificate (CRL or certificate problem)."


class MssInternalError(MssError):
    """900: internal error at the MSSP."""

    default_vi = "Dịch vụ ký số của nhà mạng đang gặp sự cố. Vui lòng thử lại sau ít phút."
    default_en = "The MSSP reported an internal error."


class MssUnavailableError(MssError):
    """The MSSP could not be reached or answered with an HTTP error page."""

    default_vi = (
        "Không kết nối được dịch vụ ký số qua SIM. Văn bản chưa được ký; vui lòng thử lại sau "
        "ít phút."
    )
    default_en = "The SIM signing service (MSSP) is unreachable or unavailable."


class MssProtocolError(MssError):
    """The MSSP answered something this client does not understand."""

    default_vi = (
        "Dịch vụ ký số qua SIM trả lời không đúng định dạng. Văn bản chưa được ký; vui lòng báo "
        "bộ phận CNTT."
    )
    default_en = "The MSSP sent a response this client does not understand."


class MssPollTimeoutError(MssError):
    """The client gave up waiting for the user to confirm on the phone."""

    default_vi = (
        "Quá thời gian chờ xác nhận trên điện thoại. Văn bản chưa được ký; vui lòng bấm ký lại."
    )
    default_en = "Gave up waiting for the confirmation on the phone."


class MssInvalidInputError(MssError):
    """The caller passed arguments the client refuses to send (bad hash, too long text...)."""

    default_vi = "Dữ liệu chuẩn bị ký không hợp lệ. Vui lòng báo bộ phận CNTT."
    default_en = "Invalid input for the signature request."


class MssSignatureMismatchError(MssError, SignatureMismatchError):
    """The returned signature does not verify over our DTBS hash with the user's certificate."""

    default_vi = (
        "Chữ ký nhận từ điện thoại không khớp với văn bản cần ký nên đã bị từ chối. Văn bản chưa "
        "được ký; vui lòng ký lại hoặc báo bộ phận CNTT."
    )
    default_en = (
        "The signature returned by the MSSP does not match the data to be signed and the "
        "certificate; it was refused."
    )


class NotificationError(MssError):
    """Root of the errors of :func:`signing.mss.verify_notification`."""

    default_vi = "Thông báo kết quả ký từ nhà mạng không hợp lệ và đã bị từ chối."
    default_en = "The MSSP completion notification is invalid and was refused."


class NotificationSignatureError(NotificationError):
    """Unsigned, malformed, or signed with another key."""

    default_en = "The notification is not a JWS signed with the MSSP's key."


class NotificationAlgorithmError(NotificationError):
    """The token names an algorithm other than the pinned ES256 (e.g. none, HS256)."""

    default_en = "The notification uses an algorithm other than ES256."


class NotificationExpiredError(NotificationError):
    """``iat`` is outside the accepted window (too old or in the future)."""

    default_en = "The notification is too old or dated in the future."


class NotificationClaimsError(NotificationError):
    """A claim is missing or does not have the expected value."""

    default_en = "The notification's claims are missing or unexpected."


class NotificationReplayError(NotificationError):
    """The notification's ``jti`` was seen before."""

    default_en = "The notification was already received (replay)."


_REQUEST_ERRORS = frozenset({101, 102, 103, 107, 108, 109})
_BY_CODE: dict[int, type[MssError]] = {
    104: MssUnauthorizedError,
    105: MssUnknownUserError,
    208: MssExpiredError,
    209: MssPhoneUnreachableError,
    401: MssUserCancelledError,
    402: MssPinBlockedError,
    403: MssCardBlockedError,
    404: MssNoKeyError,
    422: MssNoCertificateError,
    423: MssCertificateProblemError,
    424: MssCertificateProblemError,
    425: MssCertificateProblemError,
    501: MssRevokedCertificateError,
    900: MssInternalError,
}


def error_for_status(code: int, detail: str | None = None) -> MssError:
    """Build the error for an MSS status code.

    Args:
        code: the primary MSS status code (e.g. 401).
        detail: the MSSP's status message or fault reason, kept for logs.

    Returns:
        An instance of the matching :class:`MssError` subclass; a plain :class:`MssError` carrying
        the code when the code has no specific class.
    """
    if code in _REQUEST_ERRORS:
        err: MssError = MssRequestError(
            f"{MssRequestError.default_en} (MSS status {code}: {detail or 'no detail'})",
            message_vi=f"{MssRequestError.default_vi} (Mã lỗi {code})",
            code=code,
            detail=detail,
        )
        return err
    cls = _BY_CODE.get(code)
    if cls is None:
        return MssError(code=code, detail=detail)
    return cls(
        f"{cls.default_en} (MSS status {code})",
        message_vi=cls.default_vi,
        code=code,
        detail=detail,
    )
