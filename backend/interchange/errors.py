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


class InvalidDocumentIdError(InterchangeError):
    """A DocumentId does not have the form `OrganId,yyyy/MM/dd,Number/Notation`."""


class AxisNotConfiguredError(InterchangeError):
    """The exchange is off: no axis URL, system id or secret in the settings."""
