import datetime as dt
import json

import pytest

from backend.interchange import xroad

# Test vector worked out by hand from the reference (§6.2), not with the code under test:
# the sign-header is the compact JSON of {systemid, timestamp, Content-Type, docId} in that order,
#   {"XroadVnpt-systemid":"14.00.W00","XroadVnpt-timestamp":"04122026T001423+0136",
#    "XroadVnpt-Content-Type":"application/json","XroadVnpt-docId":"5bebcfeff858e3e0cc154762"}
# and the hash-header its HMAC-SHA256 keyed with the secret's UTF-8 bytes, computed with openssl:
#   printf '%s' '<the JSON above>' | openssl dgst -sha256 -hmac 'dummy-secret'
SIGNED = (
    '{"XroadVnpt-systemid":"14.00.W00","XroadVnpt-timestamp":"04122026T001423+0136",'
    '"XroadVnpt-Content-Type":"application/json","XroadVnpt-docId":"5bebcfeff858e3e0cc154762"}'
)
EXPECTED_HASH = "7feb7df9d0899e17e8c9ca6baf6ffaf58854663294332362ab56254d6298e8c1"


def _headers() -> dict[str, str]:
    return xroad.signed_headers(
        system_id="14.00.W00",
        secret="dummy-secret",
        timestamp="04122026T001423+0136",
        content_type="application/json",
        params=[("docId", "5bebcfeff858e3e0cc154762")],
    )


def test_headers_match_the_hand_computed_vector() -> None:
    headers = _headers()
    assert headers["XroadVnpt-sign-header"] == SIGNED
    assert headers["XroadVnpt-hash-header"] == EXPECTED_HASH
    assert headers["XroadVnpt-sign-header-key"] == "systemid;timestamp;Content-Type;docId"
    assert headers["XroadVnpt-docId"] == "5bebcfeff858e3e0cc154762"
    assert headers["XroadVnpt-version"] == "3.0.201608"
    assert headers["User-Agent"] == "JAVASDKAgent/1.0.0 XRoad/VPCP"


def test_timestamp_pads_milliseconds_to_four_digits() -> None:
    now = dt.datetime(2026, 12, 4, 0, 14, 23, 136_999)
    assert xroad.sdk_timestamp(now) == "04122026T001423+0136"


def test_hash_file_drops_leading_zeros_per_byte() -> None:
    # sha256("abc") = ba7816bf 8f01cfea ... b00361a3 ... f20015ad;
    # Integer.toHexString writes 01 as "1", 03 as "3" and 00 as "0".
    assert (
        xroad.hash_file(b"abc") == "ba7816bf8f1cfea414140de5dae2223b0361a396177a9cb410ff61f2015ad"
    )


def test_verify_accepts_the_right_secret_and_refuses_a_wrong_one_or_a_tampered_header() -> None:
    assert xroad.verify_sign_header("dummy-secret", SIGNED, EXPECTED_HASH) == {
        "systemid": "14.00.W00",
        "timestamp": "04122026T001423+0136",
        "Content-Type": "application/json",
        "docId": "5bebcfeff858e3e0cc154762",
    }
    assert xroad.verify_sign_header("other-secret", SIGNED, EXPECTED_HASH) is None
    tampered = SIGNED.replace("14.00.W00", "14.00.W01")
    assert xroad.verify_sign_header("dummy-secret", tampered, EXPECTED_HASH) is None


def test_java_string_hash_matches_java() -> None:
    # "hello".hashCode() is the textbook value; the other two were printed by OpenJDK 17.
    assert xroad.java_string_hash("hello") == 99162322
    assert xroad.java_string_hash("systemid") == 1976086410
    assert xroad.java_string_hash("Đơn vị") == -414377960 & 0xFFFFFFFF


# Key orders printed by OpenJDK 17 for `new HashMap<>()` filled in the given order
# (`String.join(";", map.keySet())`); the first is also the order of the SDK capture quoted in
# the reference README §6.2. The last two make the map resize to 32 and 64 buckets.
JAVA_ORDERS = [
    (
        "timestamp;systemid;Content-Type;from;servicetype;messagetype;hash-file",
        "systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type",
    ),
    (
        "timestamp;systemid;Content-Type;status;docId;description",
        "systemid;docId;description;timestamp;Content-Type;status",
    ),
    (
        "timestamp;systemid;Content-Type;servicetype;messagetype;fromDate;toDate",
        "fromDate;systemid;servicetype;messagetype;toDate;timestamp;Content-Type",
    ),
    (
        "timestamp;systemid;Content-Type;servicetype;messagetype;docId;filePath;docid;status;"
        "description;from;to;hash-file",
        "systemid;messagetype;docId;docid;filePath;description;servicetype;hash-file;from;to;"
        "timestamp;Content-Type;status",
    ),
    (
        "timestamp;systemid;Content-Type;Đơn vị;a;b;c;d;e;f;g;h;i;j;k;l;m;n",
        "a;systemid;b;c;d;e;f;g;h;i;j;k;l;m;n;Đơn vị;timestamp;Content-Type",
    ),
]


@pytest.mark.parametrize(("put", "iterated"), JAVA_ORDERS)
def test_sdk_key_order_is_java_hashmap_order(put: str, iterated: str) -> None:
    assert ";".join(xroad.sdk_key_order(put.split(";"))) == iterated


def test_sdk_ordered_headers_sign_the_same_fields_in_the_sdk_order() -> None:
    params = [("from", "000.00.00.G22"), ("servicetype", "eDoc"), ("messagetype", "edoc")]
    params.append(("hash-file", "f51ba8b"))
    plain = xroad.signed_headers(
        system_id="14.00.W00",
        secret="dummy-secret",
        timestamp="04122026T001423+0136",
        content_type="application/octet-stream",
        params=params,
    )
    ordered = xroad.signed_headers(
        system_id="14.00.W00",
        secret="dummy-secret",
        timestamp="04122026T001423+0136",
        content_type="application/octet-stream",
        params=params,
        sdk_order=True,
    )
    assert ordered["XroadVnpt-sign-header-key"] == (
        "systemid;servicetype;messagetype;hash-file;from;timestamp;Content-Type"
    )
    assert json.loads(ordered["XroadVnpt-sign-header"]) == json.loads(
        plain["XroadVnpt-sign-header"]
    )
    assert list(json.loads(ordered["XroadVnpt-sign-header"])) == [
        "XroadVnpt-" + name for name in ordered["XroadVnpt-sign-header-key"].split(";")
    ]
    assert xroad.verify_sign_header(
        "dummy-secret", ordered["XroadVnpt-sign-header"], ordered["XroadVnpt-hash-header"]
    )
