"""Decree 30 appearances and the leader → number/date → agency seal sequence."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import LEADER
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields
from signing_helpers import pyhanko_status, render_region

from signing import (
    AgencySealAppearance,
    AttachmentStampAppearance,
    DevPki,
    InMemoryKey,
    LeaderAppearance,
    PadesLevel,
    SigningError,
    SigningServices,
    add_issuing_fields,
    fill_issuing_fields,
    finish_signature,
    format_signing_time,
    make_sample_pdf,
    make_seal_png,
    make_signature_png,
    prepare_seal_signature,
    seal_box_overlapping,
    sign_pdf,
    verify_pdf,
)
from signing.decree30 import decree30_date
from signing.textpos import find_positions

AGENCY = "Ủy ban nhân dân tỉnh Mẫu"
PDF = make_sample_pdf(pages=2)  # a Decree 30 draft: "Số: …/QĐ-UBND", date line, signer block
FOUND = find_positions(PDF)
LEADER_BOX = FOUND.leader_box
NUMBER_BOX = FOUND.number_box
DATE_BOX = FOUND.date_box


def test_signing_time_format_is_vietnam_time() -> None:
    moment = datetime(2026, 1, 2, 20, 4, 5, tzinfo=UTC)
    assert format_signing_time(moment=moment) == "03/01/2026 03:04:05 +07:00"


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 3, 5), "ngày 05 tháng 3 năm 2026"),
        (date(2026, 2, 28), "ngày 28 tháng 02 năm 2026"),
        (date(2026, 1, 9), "ngày 09 tháng 01 năm 2026"),
        (date(2026, 11, 12), "ngày 12 tháng 11 năm 2026"),
        (date(2026, 10, 10), "ngày 10 tháng 10 năm 2026"),
    ],
)
def test_decree30_date_has_leading_zeros_only_for_days_under_10_and_months_1_2(
    day: date, text: str
) -> None:
    assert decree30_date(day) == text


def test_seal_overlaps_a_third_of_the_leader_signature_on_its_left() -> None:
    x1, y1, x2, y2 = seal_box_overlapping(leader_box=LEADER_BOX, size=110)
    assert x2 == pytest.approx(LEADER_BOX[0] + (LEADER_BOX[2] - LEADER_BOX[0]) / 3)
    assert x1 < LEADER_BOX[0] and x2 - x1 == pytest.approx(110)
    assert (y1 + y2) / 2 == pytest.approx((LEADER_BOX[1] + LEADER_BOX[3]) / 2)


def test_demo_images_are_transparent_pngs() -> None:
    from PIL import Image

    for data in (make_signature_png(seed=3), make_seal_png(agency_name=AGENCY)):
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and image.mode == "RGBA"
        alphas = image.getchannel("A").getextrema()
        assert alphas == (0, 255)  # transparent background, opaque ink


@pytest.mark.anyio
async def test_leader_and_attachment_appearances_render(
    pki: DevPki, services: SigningServices, tmp_path: Path
) -> None:
    sample_pdf = PDF
    key = InMemoryKey(pki.user_key(LEADER))
    assert render_region(sample_pdf, 1, LEADER_BOX) == 0
    leader = await sign_pdf(
        pdf=sample_pdf,
        key=key,
        signer_cert=pki.user_cert(LEADER),
        chain=pki.chain,
        services=services,
        level=PadesLevel.B_T,
        appearance=LeaderAppearance(
            signature_image=make_signature_png(), page=1, box=LEADER_BOX, text="{name} {time}"
        ),
    )
    assert render_region(leader, 1, LEADER_BOX) > 200
    assert _embedded_noto(leader, tmp_path)  # Vietnamese text in the embedded OpenType font

    top_right = (595 - 18 - 220, 842 - 18 - 48, 595 - 18, 842 - 18)
    before = render_region(sample_pdf, 0, top_right)
    stamped = await sign_pdf(
        pdf=sample_pdf,
        key=InMemoryKey(pki.seal_key),
        signer_cert=pki.seal_cert,
        chain=pki.chain,
        services=services,
        level=PadesLevel.B_T,
        appearance=AttachmentStampAppearance(reference="123/QĐ-UBND", agency_name=AGENCY),
    )
    assert render_region(stamped, 0, top_right) > before + 100
    report = await verify_pdf(pdf=stamped, trust=pki.trust, http_session=services.http_session)
    assert report.ok


def _pdfsig(path: Path) -> str:
    """poppler's independent check of every signature's byte range and CMS."""
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=True).stdout


def _embedded_noto(pdf: bytes, tmp_path: Path) -> bool:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    return any("NotoSans" in line and " yes yes " in line for line in out.stdout.splitlines())


async def _leader_signed_draft(pki: DevPki, services: SigningServices) -> bytes:
    draft = add_issuing_fields(
        pdf=PDF,
        number_box=NUMBER_BOX,
        date_box=DATE_BOX,
        seal_page=FOUND.sign_page,
        seal_box=FOUND.seal_box,
        text_size=FOUND.text_size,
        number_with_symbol=FOUND.number_full,
        date_with_place=FOUND.date_with_place,
    )
    return await sign_pdf(
        pdf=draft,
        key=InMemoryKey(pki.user_key(LEADER)),
        signer_cert=pki.user_cert(LEADER),
        chain=pki.chain,
        services=services,
        certify=True,
        appearance=LeaderAppearance(
            signature_image=make_signature_png(), page=FOUND.sign_page, box=LEADER_BOX
        ),
    )


async def issue(
    pki: DevPki,
    services: SigningServices,
    leader_signed: bytes,
    number: int = 123,
    day: date = date(2026, 3, 5),
) -> bytes:
    """Number, date and seal in one revision, at B-LTA, as the app issues."""
    prepared = await prepare_seal_signature(
        pdf=leader_signed,
        seal_cert=pki.seal_cert,
        chain=pki.chain,
        seal_image=make_seal_png(agency_name=AGENCY),
        agency_name=AGENCY,
        level=PadesLevel.B_LTA,
        number=number,
        symbol="QĐ-UBND",
        issue_date=day,
        place="Hà Nội",
    )
    value = await InMemoryKey(pki.seal_key).sign(dtbs=prepared.dtbs)
    return await finish_signature(state=prepared.state, signature_value=value, services=services)


@pytest.mark.anyio
async def test_number_date_and_seal_keep_the_leader_signature_valid(
    pki: DevPki, services: SigningServices, tmp_path: Path
) -> None:
    leader = await _leader_signed_draft(pki, services)
    before = render_region(leader, 0, NUMBER_BOX)
    final = await issue(pki, services, leader)
    # Written on white over "………/QĐ-UBND": drawn, and not the dots any more.
    assert render_region(final, 0, NUMBER_BOX) > 20
    assert render_region(final, 0, NUMBER_BOX) != before
    filled = fill_issuing_fields(
        pdf=leader, number=123, symbol="QĐ-UBND", issue_date=date(2026, 3, 5), place="Hà Nội"
    )

    leader_status = await pyhanko_status(final, services, 0)
    assert leader_status.bottom_line and leader_status.intact and leader_status.docmdp_ok
    assert leader_status.modification_level.name == "FORM_FILLING"
    seal_status = await pyhanko_status(final, services, 1)
    assert seal_status.bottom_line and seal_status.signer_reported_dt is not None
    seal_left = FOUND.seal_box
    assert render_region(final, 1, seal_left) > render_region(filled, 1, seal_left)

    report = await verify_pdf(pdf=final, trust=pki.trust, http_session=services.http_session)
    assert report.ok, report.summary_en
    assert [s.certification for s in report.signatures] == [True, False]
    assert report.signatures[1].pades_level == "B-LTA" and report.document_timestamps == 1
    assert report.signatures[1].signer_name == AGENCY

    path = tmp_path / "final.pdf"
    path.write_bytes(final)
    out = _pdfsig(path)
    assert out.count("Signature is Valid.") == 2 and "Invalid" not in out
    values = {
        str(f.get_object()["/T"]): str(f.get_object()["/V"])
        for f in PdfFileReader(io.BytesIO(final)).root["/AcroForm"]["/Fields"]
        if f.get_object().get("/FT") == "/Tx"
    }
    # The draft carries "Số: ………/QĐ-UBND" and "Sông Hồng, ngày …… tháng …… năm 2026": number
    # and symbol replace "………/QĐ-UBND", the Decree 30 date goes after the drafted place.
    assert values == {"so_van_ban": "123/QĐ-UBND", "ngay_ban_hanh": "ngày 05 tháng 3 năm 2026"}


@pytest.mark.anyio
async def test_new_field_after_certification_breaks_docmdp(
    pki: DevPki, services: SigningServices, tmp_path: Path
) -> None:
    # The pitfall of reference §6: pdfsig still says valid, pyHanko (and verify_pdf) do not.
    leader = await _leader_signed_draft(pki, services)
    writer = IncrementalPdfFileWriter(io.BytesIO(leader))
    fields.append_signature_field(
        writer, fields.SigFieldSpec("extra", on_page=0, box=(1, 1, 50, 50))
    )
    out = io.BytesIO()
    writer.write(out)
    report = await verify_pdf(
        pdf=out.getvalue(), trust=pki.trust, http_session=services.http_session
    )
    assert not report.ok and not report.signatures[0].docmdp_ok
    path = tmp_path / "bad.pdf"
    path.write_bytes(out.getvalue())
    assert "Signature is Valid." in _pdfsig(path)


@pytest.mark.anyio
async def test_sequence_errors(pki: DevPki, services: SigningServices, sample_pdf: bytes) -> None:
    with pytest.raises(SigningError):
        fill_issuing_fields(
            pdf=sample_pdf, number=1, symbol="QĐ", issue_date=date(2026, 1, 1), place="X"
        )
    with pytest.raises(SigningError):
        await prepare_seal_signature(
            pdf=sample_pdf,
            seal_cert=pki.seal_cert,
            seal_image=make_seal_png(agency_name="A"),
            agency_name="A",
        )
    leader = await _leader_signed_draft(pki, services)
    with pytest.raises(SigningError):
        add_issuing_fields(
            pdf=leader, number_box=NUMBER_BOX, date_box=DATE_BOX, seal_page=0, seal_box=(1, 1, 2, 2)
        )
    assert isinstance(AgencySealAppearance, type)


@pytest.mark.anyio
async def test_filling_before_the_seal_revision_trips_pyhankos_lock_analysis(
    pki: DevPki, services: SigningServices
) -> None:
    # Why the number and date are filled in the seal's own revision: filled in a revision of
    # their own, pyHanko 0.38 takes their appearance streams (last changed before the seal) for
    # "updated" in every later revision, so the seal's own DSS makes it OTHER.
    leader = await _leader_signed_draft(pki, services)
    filled = fill_issuing_fields(
        pdf=leader, number=123, symbol="QĐ-UBND", issue_date=date(2026, 3, 5), place="Hà Nội"
    )
    prepared = await prepare_seal_signature(
        pdf=filled,
        seal_cert=pki.seal_cert,
        chain=pki.chain,
        seal_image=make_seal_png(agency_name=AGENCY),
        agency_name=AGENCY,
        level=PadesLevel.B_LT,
    )
    value = await InMemoryKey(pki.seal_key).sign(dtbs=prepared.dtbs)
    final = await finish_signature(state=prepared.state, signature_value=value, services=services)
    seal_status = await pyhanko_status(final, services, 1)
    assert not seal_status.docmdp_ok and seal_status.modification_level.name == "OTHER"
