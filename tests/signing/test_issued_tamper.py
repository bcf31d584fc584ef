"""What the agency seal protects: an issued document (leader's certification, number and date
filled and locked by the seal, B-LTA) changed afterwards in every way an outsider could. The
right signature must fail, with words that say what happened; only an archival timestamp (with
its validation data) may follow the seal."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from conftest import LEADER
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from test_decree30 import _leader_signed_draft, issue

from signing import DATE_FIELD, NUMBER_FIELD, DevPki, SigningServices, Verdict, verify_pdf
from signing.ltv import add_archival_timestamp

pytestmark = pytest.mark.anyio
assert LEADER


@pytest.fixture
async def issued(pki: DevPki, services: SigningServices) -> bytes:
    return await issue(pki, services, await _leader_signed_draft(pki, services))


def _incremental(pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None]) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _field(writer: IncrementalPdfFileWriter, name: str) -> generic.DictionaryObject:
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if str(field.get("/T")) == name:
            return field  # type: ignore[no-any-return]
    raise AssertionError(name)


def refill(name: str, value: str) -> Callable[[IncrementalPdfFileWriter], None]:
    """What a forger does with any PDF editor: type another value into the field."""

    def change(writer: IncrementalPdfFileWriter) -> None:
        field = _field(writer, name)
        field[pdf_name("/V")] = pdf_string(value)
        text = value.encode("ascii", "replace")
        stream = generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): field["/Rect"],
            },
            stream_data=b"BT /Helv 11 Tf 2 5 Td (" + text + b") Tj ET",
        )
        field[pdf_name("/AP")] = generic.DictionaryObject(
            {pdf_name("/N"): writer.add_object(stream)}
        )
        writer.update_container(field)

    return change


def add_annotation(writer: IncrementalPdfFileWriter) -> None:
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    annot = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/FreeText"),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.FloatObject(v) for v in (60, 700, 300, 730)
                ),
                pdf_name("/Contents"): pdf_string("ĐÃ HỦY"),
                pdf_name("/DA"): pdf_string("/Helv 14 Tf 1 0 0 rg"),
            }
        )
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(annot)
    page[pdf_name("/Annots")] = annots
    writer.update_container(page)


def add_page(writer: IncrementalPdfFileWriter) -> None:
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 700 Td (x) Tj ET")
    )
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject(
                generic.NumberObject(v) for v in (0, 0, 595, 842)
            ),
            pdf_name("/Contents"): content,
        }
    )
    writer.insert_page(page)


def change_content(writer: IncrementalPdfFileWriter) -> None:
    page = writer.find_page_for_modification(0)[0].get_object()
    page[pdf_name("/Contents")] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /Helv 12 Tf 72 760 Td (Noi dung khac) Tj ET")
    )
    writer.update_container(page)


def replace_seal_appearance(writer: IncrementalPdfFileWriter) -> None:
    seal = None
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if str(field.get("/T")) == "chu_ky_co_quan":
            seal = field
    assert seal is not None
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                generic.NumberObject(v) for v in (0, 0, 100, 100)
            ),
        },
        stream_data=b"0 0 1 rg 0 0 100 100 re f",
    )
    seal[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): writer.add_object(stream)})
    writer.update_container(seal)


def new_field(writer: IncrementalPdfFileWriter) -> None:
    page_ref = writer.find_page_for_modification(0)[0]
    form = writer.root["/AcroForm"]
    field = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/FT"): pdf_name("/Tx"),
                pdf_name("/T"): pdf_string("ghi_chu"),
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/Rect"): generic.ArrayObject(
                    generic.FloatObject(v) for v in (60, 60, 200, 80)
                ),
                pdf_name("/P"): page_ref,
                pdf_name("/V"): pdf_string("thêm"),
            }
        )
    )
    form["/Fields"].append(field)
    writer.update_container(form)


async def test_refilled_number_fails_the_seal_and_says_so(
    pki: DevPki, services: SigningServices, issued: bytes
) -> None:
    forged = _incremental(issued, refill(NUMBER_FIELD, "999/QĐ-VP"))
    report = await verify_pdf(pdf=forged, trust=pki.trust, http_session=services.http_session)
    leader, seal = report.signatures
    assert report.verdict == Verdict.INVALID
    assert leader.verdict == Verdict.VALID  # form filling stays allowed by the certification
    assert seal.verdict == Verdict.INVALID and seal.reason == "changed_after_issuance"
    assert seal.changed_after_signing == (NUMBER_FIELD,)
    assert "số văn bản đã bị sửa sau khi ban hành" in seal.summary_vi
    assert "number was changed after issuance" in seal.summary_en
    assert "số văn bản đã bị sửa sau khi ban hành" in report.summary_vi
    assert not seal.docmdp_ok and seal.modification_level == "OTHER"  # pyHanko's own rating


async def test_refilled_date_fails_the_seal_and_says_so(
    pki: DevPki, services: SigningServices, issued: bytes
) -> None:
    forged = _incremental(issued, refill(DATE_FIELD, "Tây Ninh, ngày 01 tháng 4 năm 2025"))
    report = await verify_pdf(pdf=forged, trust=pki.trust, http_session=services.http_session)
    seal = report.signatures[1]
    assert seal.verdict == Verdict.INVALID and seal.changed_after_signing == (DATE_FIELD,)
    assert "ngày ban hành đã bị sửa sau khi ban hành" in seal.summary_vi


@pytest.mark.parametrize(
    "change",
    [add_annotation, add_page, change_content, replace_seal_appearance, new_field],
    ids=lambda f: f.__name__,
)
async def test_any_other_change_after_the_seal_fails(
    pki: DevPki,
    services: SigningServices,
    issued: bytes,
    change: Callable[[IncrementalPdfFileWriter], None],
) -> None:
    forged = _incremental(issued, change)
    report = await verify_pdf(pdf=forged, trust=pki.trust, http_session=services.http_session)
    assert report.verdict == Verdict.INVALID, report.summary_en
    seal = report.signatures[1]
    assert seal.verdict == Verdict.INVALID, seal.summary_en
    assert seal.reason in {"modified_after_seal", "disallowed_change", "modified"}
    assert seal.summary_vi.startswith("Chữ ký KHÔNG hợp lệ")


async def test_a_rewritten_file_breaks_both_signatures(
    pki: DevPki, services: SigningServices, issued: bytes
) -> None:
    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(issued)))
    out = io.BytesIO()
    writer.write(out)
    report = await verify_pdf(
        pdf=out.getvalue(), trust=pki.trust, http_session=services.http_session
    )
    assert report.verdict == Verdict.INVALID
    assert all(s.verdict == Verdict.INVALID for s in report.signatures)


async def test_an_archival_timestamp_after_the_seal_is_allowed(
    pki: DevPki, services: SigningServices, issued: bytes
) -> None:
    buffer = io.BytesIO(issued)
    await add_archival_timestamp(buffer, md_algorithm="sha256", services=services)
    renewed = buffer.getvalue()
    report = await verify_pdf(pdf=renewed, trust=pki.trust, http_session=services.http_session)
    assert report.ok, report.summary_en
    assert report.document_timestamps == 2
    assert [s.modification_level for s in report.signatures] == ["FORM_FILLING", "LTA_UPDATES"]
