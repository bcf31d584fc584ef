import pytest

from backend.interchange.errors import MalformedPacketError
from backend.interchange.safexml import parse_packet, parse_packet_noting_repairs

GOOD = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<edXML:edXMLEnvelope xmlns:edXML="http://www.e-doc.vn/Schema/">'
    b"<edXML:edXMLHeader/></edXML:edXMLEnvelope>"
)


def test_a_plain_packet_parses() -> None:
    assert parse_packet(GOOD).tag == "{http://www.e-doc.vn/Schema/}edXMLEnvelope"


def test_malformed_xml_is_refused() -> None:
    with pytest.raises(MalformedPacketError) as caught:
        parse_packet(b"<edXML:edXMLEnvelope><unclosed>")
    assert "XML" in caught.value.message_vi


def test_entity_expansion_bomb_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<root>&lol3;</root>"
    )
    with pytest.raises(MalformedPacketError):
        parse_packet(bomb)


def test_external_entity_is_refused_and_not_read() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<root>&x;</root>"
    )
    with pytest.raises(MalformedPacketError):
        parse_packet(xxe)


def test_deep_nesting_is_refused() -> None:
    deep = b"<a>" * 100 + b"</a>" * 100
    with pytest.raises(MalformedPacketError):
        parse_packet(deep)


def test_huge_attribute_is_refused() -> None:
    huge = b'<root a="' + b"x" * 11_000_000 + b'"/>'
    with pytest.raises(MalformedPacketError):
        parse_packet(huge)


def test_packet_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedPacketError) as caught:
        parse_packet(GOOD, max_bytes=10)
    assert "quá lớn" in caught.value.message_vi


def test_undeclared_known_prefixes_are_declared_and_the_packet_parses() -> None:
    packet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
        b'<edXML:Reference xlink:href="cid:1"/></edXML:edXMLEnvelope>'
    )
    root = parse_packet(packet)
    assert root[0].get("{http://www.w3.org/1999/xlink}href") == "cid:1"


def test_an_unknown_undeclared_prefix_is_still_refused() -> None:
    with pytest.raises(MalformedPacketError):
        parse_packet(b'<root><foo:bar a="1"/></root>')


def test_every_reference_sample_parses() -> None:
    from pathlib import Path

    samples = sorted((Path(__file__).parent / "samples").rglob("*.edxml"))
    assert len(samples) == 18
    for path in samples:
        data = path.read_bytes()
        # edoc_new.edxml of the VPCP kit starts with 4 stray bytes "1212" (see samples/SOURCES.md).
        parse_packet(data[data.find(b"<?xml") :])


def test_bytes_before_the_declaration_are_refused_and_counted() -> None:
    with pytest.raises(MalformedPacketError) as caught:
        parse_packet(b"1212" + GOOD)
    assert "4 byte lạ trước phần khai báo XML" in caught.value.message_vi
    with pytest.raises(MalformedPacketError) as caught:
        parse_packet(b"\n " + GOOD)
    assert "2 byte lạ" in caught.value.message_vi
    # A byte-order mark is no garbage, nor is whitespace before a packet without a declaration.
    assert parse_packet(b"\xef\xbb\xbf" + GOOD).tag.endswith("edXMLEnvelope")
    assert parse_packet(b"\n " + GOOD[GOOD.index(b"?>") + 2 :]).tag.endswith("edXMLEnvelope")


def test_only_the_undeclared_prefixes_in_use_are_declared() -> None:
    packet = (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
        b'<Reference xlink:href=""/></edXML>'
    )
    root, repaired = parse_packet_noting_repairs(packet)
    assert repaired == ("xlink",)
    assert root[0].get("{http://www.w3.org/1999/xlink}href") == ""
    assert parse_packet_noting_repairs(GOOD)[1] == ()
