"""`eoffice pki init`, `pdf sign`, `pdf verify`, run as a user would (separate processes: each
gets its own SOFTHSM2_CONF before the PKCS#11 module loads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signing import make_sample_pdf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def eoffice(tmp_path: Path, sqlite_url: str) -> object:
    env = {
        **os.environ,
        "EOFFICE_DATA_DIR": str(tmp_path / "data"),
        "EOFFICE_DATABASE_URL": sqlite_url,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backend", *args], env=env, cwd=tmp_path, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip

    return run


def test_dev_pki_sign_and_verify_round_trip_and_specialists_hold_no_key(
    eoffice: object, tmp_path: Path
) -> None:
    assert callable(eoffice)
    assert eoffice("demo").returncode == 0
    init = eoffice("pki", "init")
    assert init.returncode == 0, init.stderr
    # chutich, phochutich (chanhvanphong is the office chief, who routes and does not sign).
    assert "server-held keys for 2 leaders and the agency seal" in init.stdout
    assert eoffice("pki", "init").returncode == 0  # idempotent
    (tmp_path / "in.pdf").write_bytes(make_sample_pdf(pages=2))

    signed = eoffice("pdf", "sign", "in.pdf", "leader.pdf", "--as", "chutich", "--level", "B-LT")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    sealed = eoffice("pdf", "sign", "leader.pdf", "sealed.pdf", "--seal", "--level", "B-T")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr

    verified = eoffice("pdf", "verify", "sealed.pdf")
    assert verified.returncode == 0, verified.stdout
    assert "Tất cả 2 chữ ký số trên văn bản đều hợp lệ." in verified.stdout
    report = json.loads(eoffice("pdf", "verify", "sealed.pdf", "--json").stdout)
    assert [s["signer_name"] for s in report["signatures"]] == [
        "Nguyễn Văn An",
        "Ủy ban nhân dân tỉnh Sông Hồng (DEMO)",
    ]
    pdfsig = subprocess.run(
        ["pdfsig", str(tmp_path / "sealed.pdf")], capture_output=True, text=True
    )
    assert pdfsig.stdout.count("Signature is Valid.") == 2

    # A changed byte inside the signed range: verification fails with exit status 1.
    data = bytearray((tmp_path / "leader.pdf").read_bytes())
    at = data.index(b"/OneColumn")  # the signed catalogue's page layout
    data[at : at + 10] = b"/TwoColumn"
    (tmp_path / "tampered.pdf").write_bytes(bytes(data))
    tampered = eoffice("pdf", "verify", "tampered.pdf")
    assert tampered.returncode == 1
    assert "KHÔNG hợp lệ" in tampered.stdout

    unsigned = eoffice("pdf", "verify", "in.pdf")
    assert unsigned.returncode == 1 and "không có chữ ký số" in unsigned.stdout
    # Specialists hold no server-held key (same data dir: demo and PKI made once).
    refused = eoffice("pdf", "sign", "in.pdf", "out.pdf", "--as", "chuyenvien1")
    assert refused.returncode == 2
    assert "no server-held signing key" in refused.stdout
    assert not (tmp_path / "out.pdf").exists()
