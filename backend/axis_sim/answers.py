"""The axis' answers: `{"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thanh cong", …}` or
`{"status": "FAIL", "ErrorCode": …, "ErrorDesc": …}` with an unaccented ASCII description.

Both come with HTTP 200 here; whether the real axis sends its refusals with another HTTP
status is unknown [unverified] (the SDK reads the body either way).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["AxisFail", "fail", "ok", "ok_bytes"]

# Only the two texts marked [src] are the axis' own (KIT README); every ErrorCode and the other
# texts are invented for the simulator [unverified]. Refusals of authentication all say
# "xac thuc", which the client keys its explanation on.
ERR_AUTH_MISSING = "-1"
ERR_AUTH_SYSTEM = "-2"
ERR_AUTH_SIGNATURE = "-3"
ERR_AUTH_HEADER = "-4"
ERR_HASH_FILE = "-5"
ERR_FROM = "-6"  # "Don vi gui <code> khong dung voi ma da dang ky: <systemId>" [src]
ERR_EDXML = "-7"
EDXML_INVALID = "VXP Server yeu cau file .edxml hop le"  # [src], quoted with diacritics there
ERR_RECIPIENT = "-8"
ERR_NOT_FOUND = "-9"
ERR_PARAMS = "-10"
ERR_AGENCY = "-11"

# Knobstick statuses and their descriptions in listings [unverified].
STATUS_DESC = {
    "initial": "Chua xu ly",
    "processing": "Dang xu ly",
    "done": "Da nhan",
    "fail": "Nhan loi",
}
ACK_STATUSES = ("done", "fail", "processing")


class AxisFail(Exception):
    """Raised anywhere in a call to answer `status: FAIL` with this code and description."""

    def __init__(self, code: str, desc: str) -> None:
        super().__init__(desc)
        self.code = code
        self.desc = desc


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def ok_bytes(**fields: Any) -> bytes:
    return _dumps({"status": "OK", "ErrorCode": "0", "ErrorDesc": "Thanh cong", **fields})


def ok(**fields: Any) -> Response:
    return Response(ok_bytes(**fields), media_type="application/json")


def fail(error: AxisFail) -> Response:
    body = {"status": "FAIL", "ErrorCode": error.code, "ErrorDesc": error.desc}
    return Response(_dumps(body), media_type="application/json")
