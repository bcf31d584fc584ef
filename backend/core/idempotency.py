"""Idempotency keys of queued form posts: an action queued on a device (offline, or on a flaky
network) is sent again with the same key until the device sees an answer; the server does it
once. The key is the client's (a UUID made when the person pressed the button), scoped to the
person, and sent as the form field `client_key` and/or the `Idempotency-Key` header.

Where the key is stored is the domain's business: it sits on the row the action creates, under a
unique constraint with the person (a progress report's timeline event, a comment), so the check
and the action are one SQL transaction and a refused action does not use its key up.
"""

from __future__ import annotations

import re

from backend.core.errors import ValidationError

FORM_FIELD = "client_key"
HEADER = "idempotency-key"
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def parse_key(field: str | None, header: str | None) -> str | None:
    """The request's key from the form field or the header (they must agree); None without one."""
    field, header = (field or "").strip(), (header or "").strip()
    if field and header and field != header:
        raise ValidationError(
            "Mã chống gửi trùng không khớp.", "The form's client_key and Idempotency-Key differ."
        )
    key = field or header
    if not key:
        return None
    if not _KEY.fullmatch(key):
        raise ValidationError("Mã chống gửi trùng không hợp lệ.", "Invalid idempotency key.")
    return key
