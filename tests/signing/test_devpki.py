"""Dev PKI: certomancer config and keys made by code, reloadable, extendable, served in-process."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from asn1crypto import ocsp, tsp
from conftest import LEADER, REVOKED

from signing import DevPki, SigningServices, generate_dev_pki, load_dev_pki


def test_hierarchy_and_user_certificates(pki: DevPki) -> None:
    cert = pki.user_cert(LEADER)
    assert cert.subject.native["common_name"] == "Nguyễn Văn An"
    assert cert.issuer == pki.issuing_ca_cert.subject
    assert pki.issuing_ca_cert.issuer == pki.root_cert.subject
    assert pki.tsa_cert.extended_key_usage_value.native == ["time_stamping"]
    assert cert.public_key.bit_size == 2048
    assert set(cert.key_usage_value.native) == {"digital_signature", "non_repudiation"}
    assert cert.ocsp_urls and cert.crl_distribution_points
    assert pki.seal_cert.subject.native["common_name"] == "Ủy ban nhân dân tỉnh Mẫu"
    assert pki.trust.trust_roots == (pki.root_cert,)
    with pytest.raises(KeyError):
        pki.user_cert("nobody")


def test_keys_are_written_by_code_and_private(pki: DevPki) -> None:
    path = pki.user_key_path(LEADER)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (pki.directory / "root.cert.pem").exists()


def test_reload_and_extend_keep_existing_certificates(tmp_path: Path) -> None:
    first = generate_dev_pki(directory=tmp_path, users=[("a", "Người A")])
    again = load_dev_pki(directory=tmp_path)
    assert again.user_cert("a").dump() == first.user_cert("a").dump()
    extended = generate_dev_pki(directory=tmp_path, users=[("b", "Người B")])
    assert extended.user_cert("a").dump() == first.user_cert("a").dump()
    assert extended.root_cert.dump() == first.root_cert.dump()
    assert extended.user_cert("b").serial_number != extended.user_cert("a").serial_number
    with pytest.raises(ValueError):
        generate_dev_pki(directory=tmp_path, users=[], revoked_users=["zzz"])


@pytest.mark.anyio
async def test_services_answer_tsa_and_ocsp(pki: DevPki, services: SigningServices) -> None:
    assert services.tsa_url == pki.tsa_url and services.trust == pki.trust
    req = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"x").digest(),
            },
            "cert_req": True,
        }
    )
    async with services.http_session.post(
        pki.tsa_url, data=req.dump(), headers={"Content-Type": "application/timestamp-query"}
    ) as resp:
        answer = tsp.TimeStampResp.load(await resp.read())
    assert answer["status"]["status"].native == "granted"

    revoked = pki.user_cert(REVOKED)
    cert_id = ocsp.CertId(
        {
            "hash_algorithm": {"algorithm": "sha1"},
            "issuer_name_hash": hashlib.sha1(pki.issuing_ca_cert.subject.dump()).digest(),
            "issuer_key_hash": hashlib.sha1(
                pki.issuing_ca_cert.public_key["public_key"].contents[1:]
            ).digest(),
            "serial_number": revoked.serial_number,
        }
    )
    ocsp_req = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    async with services.http_session.post(
        revoked.ocsp_urls[0],
        data=ocsp_req.dump(),
        headers={"Content-Type": "application/ocsp-request"},
    ) as resp:
        answer_ocsp = ocsp.OCSPResponse.load(await resp.read())
    single = answer_ocsp.basic_ocsp_response["tbs_response_data"]["responses"][0]
    assert single["cert_status"].name == "revoked"
