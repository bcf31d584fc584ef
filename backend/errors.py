"""The app's root error, and the translation of errors into responses at the edge."""

from __future__ import annotations


class EofficeError(Exception):
    """A refusal a person can act on. `message_vi` is shown first, `message_en` on request."""

    status_code = 400

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_vi


class ValidationError(EofficeError):
    status_code = 422


class NotFoundError(EofficeError):
    status_code = 404


class ConflictError(EofficeError):
    status_code = 409
