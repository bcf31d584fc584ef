import datetime as dt
import unicodedata

import pytest

from backend.interchange.docid import DocumentId, parse_document_id
from backend.interchange.errors import InterchangeError, InvalidDocumentIdError


def test_parses_the_canonical_form_and_writes_it_back() -> None:
    doc_id = parse_document_id("000.00.11.H53,2020/10/30,2491/STC-BCTC")
    assert doc_id == DocumentId("000.00.11.H53", dt.date(2020, 10, 30), "2491", "STC-BCTC")
    assert str(doc_id) == "000.00.11.H53,2020/10/30,2491/STC-BCTC"


def test_notation_may_contain_slashes_and_vietnamese_and_iso_dates_are_accepted() -> None:
    doc_id = parse_document_id("000.00.00.G22,2015-09-30,7816/VPCP-TTĐT/QĐ")
    assert doc_id.number == "7816"
    assert doc_id.notation == "VPCP-TTĐT/QĐ"
    assert str(doc_id) == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT/QĐ"


def test_nfd_and_case_differences_compare_equal() -> None:
    nfc = parse_document_id("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT")
    nfd = parse_document_id(unicodedata.normalize("NFD", "000.00.00.g22,2015/09/30,7816/vpcp-ttđt"))
    assert nfc.same_document(nfd)
    other = parse_document_id("000.00.00.G22,2015/09/30,7817/VPCP-TTĐT")
    assert not nfc.same_document(other)


@pytest.mark.parametrize(
    "text",
    [
        "5b3c6f0e-8b1a-4c7e-9a55-0f3c2e1d4b6a",
        "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT",
        "000.00.00.G22,30/09/2015,7816",
        ",2015/09/30,7816/VPCP",
    ],
)
def test_refuses_what_is_not_a_document_id(text: str) -> None:
    with pytest.raises(InvalidDocumentIdError) as caught:
        parse_document_id(text)
    assert isinstance(caught.value, InterchangeError)
    assert "DocumentId" in caught.value.message_vi
    assert "OrganId,yyyy/MM/dd,Number/Notation" in caught.value.message_en
