"""Revocation judged against proof of existence (ETSI EN 319 102-1), and long-term validation:
a signer revoked after a timestamped signature keeps a valid signature at every level that has
a timestamp; one revoked before signing does not; an untimestamped one is indeterminate; a
B-LTA document validates years later from its own data, offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signing import (
    DevPki,
    InMemoryKey,
    PadesLevel,
    Verdict,
    generate_dev_pki,
    make_sample_pdf,
    serve_dev_services,
    sign_pdf,
    verify_pdf,
)

pytestmark = pytest.mark.anyio

NOW = datetime.now(UTC).replace(microsecond=0)
REVOKED_LATER = NOW + timedelta(days=10)
CHECKED_AT = NOW + timedelta(days=20)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return generate_dev_pki(
        directory=tmp_path_factory.mktemp("pki-revocations"),
        users=[("roi-chuc", "Trần Văn Rời"), ("mat-sim", "Lê Thị Mất")],
        revoked_at={"roi-chuc": REVOKED_LATER},
        revoked_users=["mat-sim"],  # revoked a minute after issuance, before anything is signed
    )


@pytest.fixture(scope="module")
def signed(pki: DevPki) -> dict[str, bytes]:
    """Documents signed now, at each level, by the signer who is revoked later; and one signed
    by the signer revoked already."""
    from tests.conftest import run_async

    async def make() -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        async with serve_dev_services(pki=pki) as svc:
            for level in PadesLevel:
                out[level.value] = await sign_pdf(
                    pdf=make_sample_pdf(pages=1),
                    key=InMemoryKey(pki.user_key("roi-chuc")),
                    signer_cert=pki.user_cert("roi-chuc"),
                    chain=pki.chain,
                    services=svc,
                    level=level,
                )
            out["revoked-before"] = await sign_pdf(
                pdf=make_sample_pdf(pages=1),
                key=InMemoryKey(pki.user_key("mat-sim")),
                signer_cert=pki.user_cert("mat-sim"),
                chain=pki.chain,
                services=svc,
                level=PadesLevel.B_T,
            )
        return out

    return run_async(make())


@pytest.mark.parametrize("level", ["B-T", "B-LT", "B-LTA"])
async def test_revoked_after_a_timestamped_signature_stays_valid(
    pki: DevPki, signed: dict[str, bytes], level: str
) -> None:
    async with serve_dev_services(pki=pki, at_time=CHECKED_AT) as svc:
        report = await verify_pdf(
            pdf=signed[level], trust=pki.trust, http_session=svc.http_session, at=CHECKED_AT
        )
    sig = report.signatures[0]
    assert report.verdict == Verdict.VALID and report.ok, sig.summary_en
    assert sig.revocation == "revoked_after_signing" and sig.reason == "revoked_after_signing"
    assert sig.revoked_at is not None and abs(sig.revoked_at - REVOKED_LATER) < timedelta(seconds=2)
    assert "trước khi chứng thư số bị thu hồi" in sig.summary_vi
    assert "before the certificate was revoked" in sig.summary_en
    assert sig.pades_level == level


async def test_revoked_after_but_not_timestamped_is_indeterminate(
    pki: DevPki, signed: dict[str, bytes]
) -> None:
    async with serve_dev_services(pki=pki, at_time=CHECKED_AT) as svc:
        report = await verify_pdf(
            pdf=signed["B-B"], trust=pki.trust, http_session=svc.http_session, at=CHECKED_AT
        )
    assert report.verdict == Verdict.INDETERMINATE and not report.ok
    assert report.signatures[0].verdict == Verdict.INDETERMINATE
    assert "chưa xác định" in report.summary_vi.lower()


async def test_the_same_documents_before_the_revocation_are_simply_valid(
    pki: DevPki, signed: dict[str, bytes]
) -> None:
    async with serve_dev_services(pki=pki) as svc:
        for level in ("B-B", "B-T", "B-LT", "B-LTA"):
            report = await verify_pdf(
                pdf=signed[level], trust=pki.trust, http_session=svc.http_session
            )
            assert report.verdict == Verdict.VALID, (level, report.summary_en)
            assert report.signatures[0].reason == "ok"
            assert report.signatures[0].pades_level == level


async def test_revoked_before_signing_is_invalid(pki: DevPki, signed: dict[str, bytes]) -> None:
    for at in (None, CHECKED_AT):
        async with serve_dev_services(pki=pki, at_time=at) as svc:
            report = await verify_pdf(
                pdf=signed["revoked-before"], trust=pki.trust, http_session=svc.http_session, at=at
            )
        sig = report.signatures[0]
        assert report.verdict == Verdict.INVALID and sig.verdict == Verdict.INVALID
        assert sig.reason == "revoked_before_signing" and sig.revocation == "revoked"
        assert "trước khi ký" in sig.summary_vi
        assert sig.summary_vi.startswith("Chữ ký KHÔNG hợp lệ")


@pytest.mark.parametrize("years", [3, 7])
async def test_b_lta_validates_years_later_offline_from_its_own_data(
    pki: DevPki, signed: dict[str, bytes], years: int
) -> None:
    # Years later: every OCSP response in the file long expired, the signer's certificate
    # (5 years) expired at 7; no network. Only B-LTA carries the proof.
    later = NOW + timedelta(days=365 * years)
    report = await verify_pdf(pdf=signed["B-LTA"], trust=pki.trust, at=later)
    assert report.verdict == Verdict.VALID, report.summary_en
    assert report.signatures[0].reason == "long_term"
    for level in ("B-T", "B-LT"):
        weaker = await verify_pdf(pdf=signed[level], trust=pki.trust, at=later)
        assert weaker.verdict == Verdict.INDETERMINATE, (level, weaker.summary_en)


async def test_another_pki_is_indeterminate_untrusted(
    pki: DevPki, signed: dict[str, bytes], tmp_path: Path
) -> None:
    other = generate_dev_pki(directory=tmp_path / "other", users=[("x", "Người Khác")])
    async with serve_dev_services(pki=pki) as svc:
        report = await verify_pdf(
            pdf=signed["B-LT"], trust=other.trust, http_session=svc.http_session
        )
    assert report.verdict == Verdict.INDETERMINATE
    assert report.signatures[0].reason == "untrusted"
