"""`eoffice pki init`, `pdf sign`, `pdf verify`, run as a user would (separate processes: each
gets its own SOFTHSM2_CONF before the PKCS#11 module loads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from signing import make_sample_pdf
from signing.textpos import find_signer_block
from tests.support.browser import screenshot_path

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def eoffice(tmp_path: Path, sqlite_url: str) -> object:
    env = {
        **os.environ,
        "EOFFICE_DATA_DIR": str(tmp_path / "data"),
        "EOFFICE_DATABASE_URL": sqlite_url,
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "backend", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def red_pixels(
    path: Path, index: int, box: tuple[float, float, float, float], save_as: str = ""
) -> int:
    """Red pixels of a page inside ``box`` (PDF points), the page rendered with its forms."""
    doc = pdfium.PdfDocument(path.read_bytes())
    try:
        doc.init_forms()
        page = doc[index]
        height = page.get_height()
        image = page.render(scale=1, may_draw_forms=True).to_pil().convert("RGB")
    finally:
        doc.close()
    if save_as:
        image.save(screenshot_path(save_as))
    x1, y1, x2, y2 = box
    crop = image.crop((int(x1), int(height - y2), int(x2), int(height - y1)))
    return sum(1 for r, g, b in crop.get_flattened_data() if r > 150 and g < 110 and b < 110)


def test_dev_pki_sign_and_verify_round_trip_and_specialists_hold_no_key(
    eoffice: object, tmp_path: Path
) -> None:
    assert callable(eoffice)
    assert eoffice("demo", "--months", "0").returncode == 0
    init = eoffice("pki", "init")
    assert init.returncode == 0, init.stderr
    # chutich, phochutich, and chanhvanphong who signs "TL. CHỦ TỊCH" under the demo's rules.
    assert "server-held keys for 3 signers" in init.stdout
    assert eoffice("pki", "init").returncode == 0  # idempotent
    (tmp_path / "in.pdf").write_bytes(make_sample_pdf(pages=2))

    signed = eoffice("pdf", "sign", "in.pdf", "leader.pdf", "--as", "chutich", "--level", "B-LT")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    sealed = eoffice("pdf", "sign", "leader.pdf", "sealed.pdf", "--seal", "--level", "B-T")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr

    # The seal is visible, red, over the left third of the leader's signature (as in the app).
    page, leader_box, seal_box = find_signer_block((tmp_path / "in.pdf").read_bytes())
    before = red_pixels(tmp_path / "leader.pdf", page, seal_box)
    after = red_pixels(tmp_path / "sealed.pdf", page, seal_box, save_as="cli-seal")
    assert before < 50 < after, (before, after)
    assert red_pixels(tmp_path / "leader.pdf", page, leader_box) == 0  # the leader's is blue

    verified = eoffice("pdf", "verify", "sealed.pdf")
    assert verified.returncode == 0, verified.stdout
    assert "Tất cả 2 chữ ký số trên văn bản đều hợp lệ." in verified.stdout
    report = json.loads(eoffice("pdf", "verify", "sealed.pdf", "--json").stdout)
    assert [s["signer_name"] for s in report["signatures"]] == [
        "Nguyễn Văn An",
        "Ủy ban nhân dân tỉnh Sông Hồng (DEMO)",
    ]
    # Each signature's own level: the seal (B-T) is not B-LT because the leader's DSS is there.
    assert [s["pades_level"] for s in report["signatures"]] == ["B-LT", "B-T"]
    assert [s["verdict"] for s in report["signatures"]] == ["valid", "valid"]
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
    # The signature's own line agrees with its verdict, and no pyHanko traceback on stdout.
    line = next(x for x in tampered.stdout.splitlines() if x.startswith("- "))
    assert "KHÔNG hợp lệ / INVALID" in line and "hợp lệ / valid" not in line
    assert "Traceback" not in tampered.stdout

    unsigned = eoffice("pdf", "verify", "in.pdf")
    assert unsigned.returncode == 1 and "không có chữ ký số" in unsigned.stdout
    # Specialists hold no server-held key (same data dir: demo and PKI made once).
    refused = eoffice("pdf", "sign", "in.pdf", "out.pdf", "--as", "chuyenvien1")
    assert refused.returncode == 2
    assert "no server-held signing key" in refused.stdout
    assert not (tmp_path / "out.pdf").exists()
