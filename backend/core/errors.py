"""The app's root error and its kinds, each with its HTTP status; `backend.web.errors_http`
turns them (and the signing library's errors) into responses."""

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

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (PDF workers): rebuild them from their messages, not
        # from constructor arguments that subclasses define differently.
        return (_rebuild, (type(self), self.message_vi, self.message_en, dict(self.__dict__)))


def _rebuild(
    cls: type[EofficeError], message_vi: str, message_en: str, state: dict[str, object]
) -> EofficeError:
    error = cls.__new__(cls)
    EofficeError.__init__(error, message_vi, message_en)
    error.__dict__.update(state)
    return error


class ValidationError(EofficeError):
    status_code = 422


class NotFoundError(EofficeError):
    status_code = 404


class ConflictError(EofficeError):
    status_code = 409


class UnauthenticatedError(EofficeError):
    status_code = 401


class ForbiddenError(EofficeError):
    status_code = 403


class RateLimitedError(EofficeError):
    status_code = 429

    def __init__(self, message_vi: str, message_en: str, *, retry_after: int) -> None:
        super().__init__(message_vi, message_en)
        self.retry_after = retry_after
