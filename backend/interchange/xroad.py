"""The `XroadVnpt-*` request headers of the VXP API, computed as the VPCP Java SDK computes them.

For every call the SDK builds an ordered map {systemid, timestamp, Content-Type, the call's own
parameters…}, sends each entry as `XroadVnpt-<name>`, lists the unprefixed names joined by `;` in
`XroadVnpt-sign-header-key`, sends the compact JSON `{"XroadVnpt-<name>":"<value>",…}` in the same
order as `XroadVnpt-sign-header`, and `XroadVnpt-hash-header` = lower-case hex HMAC-SHA256 keyed
with the secret's UTF-8 bytes over exactly those JSON bytes. A server can only recompute the HMAC
over the received sign-header and then check the JSON against the caller (`verify_sign_header`).

The SDK's map is a `java.util.HashMap`, so its order is the map's iteration order, which is
reproducible (`sdk_key_order`): the README's captured sendEdoc carried
`systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type`, exactly what the
HashMap model gives for those keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence

USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
SDK_VERSION = "3.0.201608"
PREFIX = "XroadVnpt-"


def sdk_timestamp(now: dt.datetime) -> str:
    """`ddMMyyyy'T'HHmmss+SSSS`, milliseconds zero-padded to four (`04122026T001423+0136`)."""
    return f"{now:%d%m%Y}T{now:%H%M%S}+{now.microsecond // 1000:04d}"


def hash_file(data: bytes) -> str:
    """SHA-256 hex as the SDK writes it: `Integer.toHexString(b & 0xff)`, no zero padding."""
    return "".join(format(b, "x") for b in hashlib.sha256(data).digest())


def sign_header(fields: list[tuple[str, str]]) -> str:
    """The compact JSON the HMAC covers, in the given order, non-ASCII kept (UTF-8 on the wire)."""
    return json.dumps(
        {PREFIX + name: value for name, value in fields},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def hash_header(secret: str, signed: str) -> str:
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()


def java_string_hash(text: str) -> int:
    """`String.hashCode()`: s[0]*31^(n-1) + … + s[n-1] over UTF-16 code units, as a 32-bit int."""
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h


def sdk_key_order(names: Sequence[str]) -> list[str]:
    """The order in which a `java.util.HashMap` holding `names` (put in this order) iterates.

    Bucket `(h ^ h >>> 16) & (capacity - 1)` of `String.hashCode`, ascending; within a bucket,
    insertion order (a resize splits buckets but keeps their relative order). Capacity starts at
    16 and doubles whenever the size exceeds three quarters of it. Bins turn into trees only past
    8 entries in one bucket with a capacity of 64, far beyond a call's dozen headers.
    """
    capacity = 16
    while len(names) > capacity * 3 // 4:
        capacity *= 2

    def bucket(name: str) -> int:
        h = java_string_hash(name)
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(names, key=bucket)  # sorted() is stable: insertion order within a bucket


def signed_headers(
    *,
    system_id: str,
    secret: str,
    timestamp: str,
    content_type: str,
    params: list[tuple[str, str]],
    sdk_order: bool = False,
) -> dict[str, str]:
    """All headers of one call; `params` are its own fields (`docId`, `hash-file`…) in order.

    With `sdk_order` the fields go in the order the Java SDK's HashMap iterates them, put as the
    SDK puts them: timestamp (when the service object is built), systemid, Content-Type, then
    the call's JSON keys and `hash-file` [inferred from the capture: only keys sharing a bucket
    depend on it, e.g. timestamp, Content-Type and `status`]. Otherwise systemid, timestamp,
    Content-Type, then `params` as given.
    """
    fields = [("systemid", system_id), ("timestamp", timestamp), ("Content-Type", content_type)]
    fields += params
    names = [name for name, _ in fields]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate XroadVnpt header names: {names}")
    if sdk_order:
        values = dict(fields)
        put = ["timestamp", "systemid", "Content-Type", *(name for name, _ in params)]
        names = sdk_key_order(put)
        fields = [(name, values[name]) for name in names]
    signed = sign_header(fields)
    headers = {PREFIX + name: value for name, value in fields}
    headers["Content-Type"] = content_type
    headers[PREFIX + "sign-header-key"] = ";".join(names)
    headers[PREFIX + "sign-header"] = signed
    headers[PREFIX + "hash-header"] = hash_header(secret, signed)
    headers[PREFIX + "version"] = SDK_VERSION
    headers["User-Agent"] = USER_AGENT
    return headers


def verify_sign_header(secret: str, signed: str, received_hash: str) -> dict[str, str] | None:
    """The signed fields (prefix removed) if the HMAC matches and the JSON is flat, else None."""
    expected = hash_header(secret, signed)
    if not hmac.compare_digest(expected, received_hash.strip().lower()):
        return None
    try:
        decoded = json.loads(signed)
    except ValueError:
        return None
    if not isinstance(decoded, dict):
        return None
    fields: dict[str, str] = {}
    for name, value in decoded.items():
        if not isinstance(name, str) or not isinstance(value, str) or not name.startswith(PREFIX):
            return None
        fields[name[len(PREFIX) :]] = value
    return fields
