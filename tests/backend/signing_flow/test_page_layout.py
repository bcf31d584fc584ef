"""The number and date fields and the signature boxes follow the size and orientation of the
page they go on (portrait or landscape; A4, A3, Letter), instead of fixed A4 positions."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from backend.signing_flow import drafts
from backend.signing_flow.tables import Draft
from signing import DATE_FIELD, NUMBER_FIELD, SEAL_FIELD
from signing.decree30 import layout_for_page

Box = tuple[float, float, float, float]
PAGES = {
    "A4 portrait": (595.0, 842.0),
    "A4 landscape": (842.0, 595.0),
    "A3 portrait": (842.0, 1191.0),
    "A3 landscape": (1191.0, 842.0),
    "Letter portrait": (612.0, 792.0),
    "Letter landscape": (792.0, 612.0),
    "A5 portrait": (420.0, 595.0),
}


def inside(box: Box, page: Box) -> bool:
    return page[0] <= box[0] < box[2] <= page[2] and page[1] <= box[1] < box[3] <= page[3]


@pytest.mark.parametrize("name", list(PAGES))
def test_layout_follows_the_page(name: str) -> None:
    width, height = PAGES[name]
    page = (0.0, 0.0, width, height)
    layout = layout_for_page(page)
    for box in (layout.number_box, layout.date_box, layout.leader_box, layout.seal_box):
        assert inside(box, page), (name, box)
    # Number left of the date, on one line near the top; the signature in the lower right.
    assert layout.number_box[2] < layout.date_box[0]
    assert layout.number_box[1] == layout.date_box[1] and layout.date_box[3] > height - 80
    assert layout.leader_box[0] > width / 2 and layout.leader_box[3] < height / 3
    # The seal covers the left third of the leader's signature.
    x1, _, x2, _ = layout.leader_box
    assert layout.seal_box[2] == pytest.approx(x1 + (x2 - x1) / 3)


def test_a4_portrait_keeps_the_classic_positions() -> None:
    layout = layout_for_page((0.0, 0.0, 595.0, 842.0))
    assert layout.number_box == (60, 770, 280, 790)
    assert layout.date_box == (300, 770, 560, 790)
    assert layout.leader_box == drafts.LEADER_BOX


def test_offset_media_box_is_respected() -> None:
    layout = layout_for_page((100.0, 50.0, 942.0, 645.0))  # A4 landscape, origin moved
    plain = layout_for_page((0.0, 0.0, 842.0, 595.0))
    assert layout.leader_box == pytest.approx(
        (plain.leader_box[0] + 100, plain.leader_box[1] + 50,
         plain.leader_box[2] + 100, plain.leader_box[3] + 50)
    )  # fmt: skip


def mixed_pdf() -> bytes:
    """A portrait first page and a landscape last page."""
    document = pdfium.PdfDocument.new()
    document.new_page(595, 842)
    document.new_page(842, 595)
    out = io.BytesIO()
    document.save(out)
    document.close()
    return out.getvalue()


def test_a_draft_ending_on_a_landscape_page_gets_its_fields_on_that_page() -> None:
    data, sign_box = drafts.with_issuing_fields(mixed_pdf(), 1)
    page = (0.0, 0.0, 842.0, 595.0)
    assert drafts.leader_box(Draft(sign_box=sign_box)) == layout_for_page(page).leader_box
    reader = PdfFileReader(io.BytesIO(data))
    last = reader.root["/Pages"]["/Kids"][1].get_object()
    rects = {}
    for ref in reader.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        assert field["/P"].get_object() == last  # on the landscape page
        rects[str(field["/T"])] = tuple(float(v) for v in field["/Rect"])
    assert set(rects) == {NUMBER_FIELD, DATE_FIELD, SEAL_FIELD}
    for box in rects.values():
        assert inside(box, page), box  # the old fixed A4 positions put them above this page
    assert rects[DATE_FIELD][3] > 595 - 80


def test_a_stored_box_is_read_back_and_old_drafts_fall_back_to_a4() -> None:
    assert drafts.leader_box(Draft(sign_box="577,110,757,190")) == (577, 110, 757, 190)
    assert drafts.leader_box(Draft(sign_box="")) == drafts.LEADER_BOX
