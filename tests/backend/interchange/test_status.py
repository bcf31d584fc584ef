import datetime as dt
import re
import unicodedata
from pathlib import Path

import pytest
from lxml import etree

from backend.interchange.errors import MalformedPacketError
from backend.interchange.status import StatusCode, build_status, parse_status

SAMPLES = Path(__file__).parent / "samples"
STATUS_SAMPLES = sorted(SAMPLES.glob("status*.edxml")) + sorted(SAMPLES.glob("edxml/status*.edxml"))


def test_all_status_samples_are_found() -> None:
    assert len(STATUS_SAMPLES) == 11


@pytest.mark.parametrize("path", STATUS_SAMPLES, ids=lambda p: p.name)
def test_every_status_sample_parses_and_round_trips(path: Path) -> None:
    packet = parse_status(path.read_bytes())
    assert packet.sender.organ_id
    assert packet.response_for.document_id.startswith(packet.response_for.organ_id) or (
        packet.code is StatusCode.RECALL_REQUESTED
    )
    built = build_status(packet)
    assert parse_status(built) == packet
    assert b"<edXML:MessageHeader>" in built


def test_processing_sample_fields() -> None:
    packet = parse_status((SAMPLES / "status_processing_05.edxml").read_bytes())
    assert packet.code is StatusCode.PROCESSING
    assert packet.sender.organ_name == "UBND Tỉnh Nghệ An"
    assert packet.response_for.code == "7816/VPCP-TTĐT"
    assert packet.response_for.promulgation_date == dt.date(2015, 9, 30)
    assert packet.description == "Đang xử lý văn bản đến"
    assert packet.timestamp == dt.datetime(2015, 9, 20, 11, 8, 36)
    assert packet.staff.mobile == "84912000001"


VARIANT = unicodedata.normalize(
    "NFD",
    """<?xml version="1.0" encoding="UTF-8"?>
<edXMLEnvelope><edXMLHeader><Status>
  <From><OrganId>000.00.00.H41</OrganId><OrganName>UBND Tỉnh Nghệ An</OrganName></From>
  <ResponseFor><DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</DocumentId>
    <PromulgationDate>30/09/2015</PromulgationDate><Code>7816/VPCP-TTĐT</Code>
    <OrganId>000.00.00.G22</OrganId></ResponseFor>
  <StatusCode>5</StatusCode><Description>Đang xử lý</Description>
  <Timestamp>2015-09-20T11:08:36</Timestamp>
</Status></edXMLHeader></edXMLEnvelope>""",
).encode()


def test_producer_variants_are_accepted_and_normalised() -> None:
    packet = parse_status(VARIANT)
    assert packet.code is StatusCode.PROCESSING
    assert packet.sender.organ_name == "UBND Tỉnh Nghệ An"  # NFC after parsing
    assert packet.response_for.promulgation_date == dt.date(2015, 9, 30)
    assert packet.timestamp == dt.datetime(2015, 9, 20, 11, 8, 36)
    built = build_status(packet)
    assert b"<edXML:PromulgationDate>2015/09/30</edXML:PromulgationDate>" in built
    assert b"<edXML:StatusCode>05</edXML:StatusCode>" in built


def test_unknown_status_code_is_refused_with_a_reason() -> None:
    with pytest.raises(MalformedPacketError) as caught:
        parse_status(VARIANT.replace(b"<StatusCode>5<", b"<StatusCode>09<"))
    assert "09" in caught.value.message_vi


def test_built_status_packets_have_the_vendor_shape() -> None:
    """The root `edXML` in the default namespace around `edXML:edXMLEnvelope`, as in the kit's
    samples, every envelope element prefixed, in the samples' order."""
    sample = (SAMPLES / "status_processing_05.edxml").read_bytes()
    built = build_status(parse_status(sample))
    ns = b"http://www.mic.gov.vn/TBT/QCVN_102_2016"
    assert built.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="' + ns + b'">\n'
        b'  <edXML:edXMLEnvelope xmlns:edXML="' + ns + b'">\n'
    )
    assert built.endswith(b"</edXML:edXMLEnvelope>\n</edXML>\n")
    assert not re.search(rb"<(?!/|\?|edXML)[A-Za-z]", built)  # no element without the prefix

    def order(data: bytes) -> list[str]:
        header = etree.fromstring(data).find(f".//{{{ns.decode()}}}MessageHeader")
        assert header is not None
        return [etree.QName(child).localname for child in header]

    assert order(built) == order(sample)
