"""Who is calling: the `XroadVnpt-*` headers checked the only way a server can check them.

The HMAC is recomputed over the received `XroadVnpt-sign-header` bytes with the secret of the
system that JSON names; then every signed field must equal its own `XroadVnpt-<name>` header.
Timestamps are not checked for freshness (the SDK reuses one for days); unsigned extra headers
(the SDK leaks earlier calls' parameters) are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from backend.axis_sim.answers import (
    ERR_AUTH_HEADER,
    ERR_AUTH_MISSING,
    ERR_AUTH_SIGNATURE,
    ERR_AUTH_SYSTEM,
    AxisFail,
)
from backend.interchange import xroad

__all__ = ["Caller", "authenticate", "header_map"]

SIGN = (xroad.PREFIX + "sign-header").lower()
HASH = (xroad.PREFIX + "hash-header").lower()


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated call: the system and its signed fields (prefix removed)."""

    system_id: str
    fields: Mapping[str, str]

    def get(self, *names: str) -> str:
        """The first of `names` that was signed (`docId` or `docid`), else ''."""
        for name in names:
            if name in self.fields:
                return self.fields[name]
        return ""


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-cased names → values; values are UTF-8 when they decode as such (the signed JSON
    keeps Vietnamese as UTF-8), else Latin-1. The first of repeated headers wins."""
    headers: dict[str, str] = {}
    for name, value in raw:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        headers.setdefault(name.decode("latin-1").lower(), text)
    return headers


def authenticate(headers: Mapping[str, str], systems: Mapping[str, str]) -> Caller:
    """Raises AxisFail with the answer the axis gives an unauthenticated call."""
    signed, received_hash = headers.get(SIGN), headers.get(HASH)
    if not signed or not received_hash:
        raise AxisFail(
            ERR_AUTH_MISSING,
            "Yeu cau thieu thong tin xac thuc (XroadVnpt-sign-header, XroadVnpt-hash-header)",
        )
    try:
        claimed = json.loads(signed)
    except ValueError:
        claimed = None
    system_id = claimed.get(xroad.PREFIX + "systemid") if isinstance(claimed, dict) else None
    if not isinstance(system_id, str) or system_id not in systems:
        raise AxisFail(ERR_AUTH_SYSTEM, f"Xac thuc that bai: ma he thong {system_id} khong ton tai")
    fields = xroad.verify_sign_header(systems[system_id], signed, received_hash)
    if fields is None:
        raise AxisFail(
            ERR_AUTH_SIGNATURE, "Xac thuc that bai: chu ky XroadVnpt-hash-header khong hop le"
        )
    for name, value in fields.items():
        if headers.get((xroad.PREFIX + name).lower()) != value:
            raise AxisFail(
                ERR_AUTH_HEADER,
                f"Xac thuc that bai: header {xroad.PREFIX}{name} khong khop voi sign-header",
            )
    return Caller(system_id=system_id, fields=fields)
