"""One root error for everything the exchange refuses, each with a message a clerk can act on."""

from __future__ import annotations

from backend.core.errors import EofficeError


class InterchangeError(EofficeError):
    """Something about an inter-agency packet or the axis that a person must know about.

    `retryable` says whether trying the same thing again later may succeed (the axis was down)
    or not (the packet itself is wrong).
    """

    retryable = False


class MalformedPacketError(InterchangeError):
    """The received packet is not well-formed XML, or uses constructs we refuse (DTDs, entities)."""


class PacketSigningError(InterchangeError):
    """Our packet could not be signed (XML-DSig): the key, its certificate or the token."""


class InvalidDocumentIdError(InterchangeError):
    """A DocumentId does not have the form `OrganId,yyyy/MM/dd,Number/Notation`."""


class AxisNotConfiguredError(InterchangeError):
    """The exchange is off: no axis URL, system id or secret in the settings."""


class AxisUnavailableError(InterchangeError):
    """The axis could not be reached or failed (connection refused, timeout, HTTP 5xx): nothing
    was done there, so the same call may be repeated later."""

    retryable = True


class AxisOutcomeUnknownError(InterchangeError):
    """A sendEdoc went out but no answer came back: the axis may have stored and delivered it.

    Retryable, but not blindly: the axis has no idempotency key, so a resend makes a second
    delivery. Look the packet up in getSentEdocList (`VxpClient.sent`) first.
    """

    retryable = True


class AxisRefusedError(InterchangeError):
    """The axis answered `status: FAIL`: it understood the call and refused it. Repeating the
    same call gives the same answer; something must be fixed first.

    `error_code` and `error_desc` are the axis' own `ErrorCode` and (unaccented) `ErrorDesc`.
    """

    def __init__(
        self, message_vi: str, message_en: str, *, error_code: str, error_desc: str
    ) -> None:
        super().__init__(message_vi, message_en)
        self.error_code = error_code
        self.error_desc = error_desc
