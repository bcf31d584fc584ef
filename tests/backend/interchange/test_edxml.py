import base64
import dataclasses
import datetime as dt
import io
import os
import random
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from backend.interchange import edxml, reception
from backend.interchange.errors import MalformedPacketError
from backend.interchange.packet import (
    BusinessDocType,
    DocumentPacket,
    DocumentType,
    Organisation,
    OtherInfo,
    SignerInfo,
    type_name,
)
from backend.interchange.safexml import parse_packet_noting_repairs
from backend.interchange.status import StatusPacket

SAMPLES = Path(__file__).parent / "samples"
DOCUMENT_SAMPLES = sorted(SAMPLES.glob("edoc_*.edxml")) + sorted(SAMPLES.glob("edxml/edoc_*.edxml"))
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def sample(name: str) -> bytes:
    data = (SAMPLES / name).read_bytes()
    # SOURCES.md: edoc_new.edxml starts with 4 stray bytes, an editing artefact of its source.
    return data[4:] if data.startswith(b"1212") else data


def read(path: Path) -> bytes:
    data = path.read_bytes()
    return data[4:] if data.startswith(b"1212") else data


def comparable(packet: DocumentPacket) -> DocumentPacket:
    """What a rebuild must keep: everything but the notes and whether a file came zipped (we
    write files as they are)."""
    return dataclasses.replace(
        packet,
        warnings=(),
        attachments=tuple(dataclasses.replace(a, zipped=False) for a in packet.attachments),
    )


def test_the_document_samples_are_found() -> None:
    assert len(DOCUMENT_SAMPLES) == 6


@pytest.mark.parametrize("path", DOCUMENT_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_document_sample_parses_and_round_trips(path: Path) -> None:
    packet = edxml.parse_any(read(path))
    assert isinstance(packet, DocumentPacket)
    assert packet.sender.organ_id and packet.recipients and packet.code.notation
    assert packet.attachments and all(a.data for a in packet.attachments)
    rebuilt = edxml.parse_any(edxml.build_document(packet))
    assert isinstance(rebuilt, DocumentPacket)
    assert comparable(rebuilt) == comparable(packet)


def test_every_status_sample_is_read_as_a_status() -> None:
    for path in sorted(SAMPLES.glob("status*.edxml")):
        assert isinstance(edxml.parse_any(path.read_bytes()), StatusPacket), path.name


def test_update_sample_fields() -> None:
    packet = edxml.parse_document(sample("edoc_update.edxml"))
    assert [r.organ_id for r in packet.recipients] == [
        "000.00.00.H41",
        "000.00.00.H14",
        "000.00.00.G17",
    ]
    assert packet.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert packet.code.text == "7816/VPCP-TTĐT"
    assert packet.promulgated == dt.date(2018, 9, 28)
    assert packet.doc_type.name == "Công văn"
    assert packet.business.doc_type is BusinessDocType.UPDATE
    assert packet.business.document_info and packet.business.document_receiver
    assert [(r.organ_id, r.receiver_type) for r in packet.business.receivers] == [
        ("000.00.00.H41", 0),
        ("000.00.00.H14", 1),
    ]
    assert packet.business.staff.staff == "Nguyễn Thị Ngọc Trâm"
    assert packet.key() == "000.00.00.G22|2015-09-30|7816/VPCP-TTĐT"
    # The attachment came as a zip of one file: unzipped, named as the manifest says.
    (attachment,) = packet.attachments
    assert attachment.zipped and attachment.name == "1896_QD-TTg_m_294779.doc"
    assert not attachment.data.startswith(b"PK")


def test_replacement_and_recall_samples() -> None:
    replaced = edxml.parse_document(sample("edoc_replacement.edxml"))
    assert replaced.business.doc_type is BusinessDocType.REPLACE
    assert replaced.business.replacements and replaced.business.replacements[0].organ_ids
    recall = edxml.parse_document(sample("edoc_revocation.edxml"))
    assert recall.business.doc_type is BusinessDocType.RECALL


def test_vpcp_fixture_is_repaired_then_refused_for_its_placeholder_content() -> None:
    """`edoc.edxml` declares neither xlink nor edXML where it uses them (repaired), and carries
    a JMeter placeholder instead of base64 (refused, with the file named)."""
    assert parse_packet_noting_repairs(sample("edoc.edxml"))[1] == ("edXML", "xlink")
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_any(sample("edoc.edxml"))
    assert "không phải dữ liệu base64 hợp lệ" in caught.value.message_vi
    assert "GUIDE_INSTALL OPENVPN" in caught.value.message_vi


def test_vpcp_fixture_with_a_real_pdf_parses_with_its_attachment_and_nfc_text() -> None:
    pdf = b"%PDF-1.7\n% a tiny stand-in\n%%EOF\n"
    data = re.sub(
        rb"\$\{__StringFromFile[^<]*", base64.b64encode(pdf), sample("edoc.edxml"), count=1
    )
    packet = edxml.parse_document(data)
    (attachment,) = packet.attachments
    assert attachment.data == pdf
    assert packet.document_id and not packet.business.reason  # no Bussiness: a new document
    assert packet.business.doc_type is BusinessDocType.NEW
    assert any("edXML:, xlink:" in warning for warning in packet.warnings)
    everything = repr(packet)
    assert unicodedata.normalize("NFC", everything) == everything
    rebuilt = edxml.parse_document(edxml.build_document(packet))
    assert comparable(rebuilt) == comparable(packet) and not rebuilt.warnings


def test_built_packets_have_the_vendor_shape_and_order() -> None:
    packet = edxml.parse_document(sample("edoc_update.edxml"))
    built = edxml.build_document(packet)
    assert built.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="' + NS.encode())
    assert b'<edXML:edXMLEnvelope xmlns:edXML="' in built
    assert b"<AttachmentEncoded>" in built and b"<Attachment>" in built
    assert b'<edXML:ContentTransferEncoded xmlns:edXML="' in built
    envelope = built[built.index(b"<edXML:edXMLEnvelope") : built.index(b"</edXML:edXMLEnvelope>")]
    # Every element inside the envelope carries the prefix.
    assert not re.search(rb"<(?!/|edXML:)[A-Za-z]", envelope)

    def order(data: bytes) -> list[str]:
        root = etree.fromstring(data)
        header = root.find(f".//{{{NS}}}MessageHeader")
        assert header is not None
        names = [etree.QName(child).localname for child in header]
        return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]

    assert order(built) == order(sample("edoc_update.edxml")) == [
        "From", "To", "DocumentId", "Code", "PromulgationInfo", "DocumentType", "Subject",
        "Content", "SignerInfo", "DueDate", "OtherInfo", "SteeringType", "ToPlaces",
    ]  # fmt: skip


def _reorder_header(data: bytes, seed: int | None = None) -> bytes:
    root = etree.fromstring(data)
    header = root.find(f".//{{{NS}}}MessageHeader")
    assert header is not None
    # The groups of children reversed (or shuffled); repeated elements (To) keep their order.
    groups: dict[str, list[etree._Element]] = {}
    for child in list(header):
        groups.setdefault(etree.QName(child).localname, []).append(child)
        header.remove(child)
    names = list(reversed(list(groups)))
    if seed is not None:
        random.Random(seed).shuffle(names)
    for name in names:
        header.extend(groups[name])
    traces = root.find(f".//{{{NS}}}TraceHeaderList")
    assert traces is not None
    business = traces[-1]
    traces.remove(business)
    traces.insert(0, business)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_element_order_does_not_matter(seed: int | None) -> None:
    data = sample("edoc_update.edxml")
    reordered = _reorder_header(data, seed)
    assert reordered != data
    assert edxml.parse_document(reordered) == edxml.parse_document(data)


def test_every_tag_the_bkav_checker_wants_is_written_even_when_empty() -> None:
    packet = edxml.parse_document(sample("edoc_update.edxml"))
    empty = dataclasses.replace(
        packet,
        sender=Organisation("000.00.01.H53"),
        recipients=(Organisation("000.00.00.H41"),),
        place="",
        signer=SignerInfo(),
        due_date=None,
        to_places=(),
        other=OtherInfo(),
        response_for=(),
    )
    root = etree.fromstring(edxml.build_document(empty))

    def children(path: str) -> list[str]:
        found = root.find(".//" + "/".join(f"{{{NS}}}{step}" for step in path.split("/")))
        assert found is not None, path
        return [etree.QName(child).localname for child in found]

    organisation = list(edxml.ORGAN_FIELDS)
    assert children("From") == organisation and children("To") == organisation
    assert children("SignerInfo") == ["Competence", "Position", "FullName"]
    assert children("OtherInfo") == [
        "Priority",
        "SphereOfPromulgation",
        "TyperNotation",
        "PromulgationAmount",
        "PageAmount",
        "Direction",
        "Appendixes",
    ]
    assert children("TraceHeaderList/TraceHeader") == ["OrganId", "Timestamp"]
    header = children("MessageHeader")
    assert {"DueDate", "ToPlaces", "Subject", "Content", "PromulgationInfo"} <= set(header)
    rebuilt = edxml.parse_document(edxml.build_document(empty))
    assert comparable(rebuilt) == comparable(empty)


def test_nfd_text_is_read_as_nfc() -> None:
    text = sample("edoc_update.edxml").decode()
    nfd = text.replace("VPCP-TTĐT", unicodedata.normalize("NFD", "VPCP-TTĐT")).replace(
        "Văn phòng Chính phủ", unicodedata.normalize("NFD", "Văn phòng Chính phủ")
    )
    assert nfd != text
    assert edxml.parse_document(nfd.encode()) == edxml.parse_document(text.encode())


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2018/09/28", dt.date(2018, 9, 28)),
        ("28/09/2018", dt.date(2018, 9, 28)),
        ("2018-09-28", dt.date(2018, 9, 28)),
        ("", None),
        ("2014/02/30", None),
    ],
)
def test_promulgation_dates_in_every_producer_format(written: str, expected: object) -> None:
    data = re.sub(
        rb"<edXML:PromulgationDate>[^<]*<",
        f"<edXML:PromulgationDate>{written}<".encode(),
        sample("edoc_update.edxml"),
        count=1,
    )
    packet = edxml.parse_document(data)
    assert packet.promulgated == expected
    assert bool(packet.warnings) == (written == "2014/02/30")


def test_garbage_before_the_declaration_is_refused() -> None:
    """The kit's `edoc_new.edxml` as published (its 4 stray bytes are stripped only here, in
    the tests, to read the rest of it)."""
    raw = (SAMPLES / "edoc_new.edxml").read_bytes()
    assert raw.startswith(b"1212<?xml")
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_any(raw)
    assert "4 byte lạ trước phần khai báo XML" in caught.value.message_vi
    assert "4 stray bytes" in caught.value.message_en


def _with_attachment(data: bytes, payload: bytes) -> bytes:
    return re.sub(
        rb"(<edXML:ContentTransferEncoded[^>]*>)[^<]*(<)",
        lambda m: m.group(1) + base64.encodebytes(payload) + m.group(2),
        data,
        count=1,
    )


def test_base64_with_line_breaks_and_a_plain_pdf() -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    packet = edxml.parse_document(_with_attachment(sample("edoc_update.edxml"), pdf))
    assert packet.attachments[0].data == pdf and not packet.attachments[0].zipped


def test_a_zip_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.pdf", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_document(_with_attachment(sample("edoc_update.edxml"), buffer.getvalue()))
    assert "giải nén ra quá lớn" in caught.value.message_vi


def test_a_zip_of_several_files_is_kept_as_it_is() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.pdf", b"%PDF-1.7 a")
        archive.writestr("b.pdf", b"%PDF-1.7 b")
    packet = edxml.parse_document(_with_attachment(sample("edoc_update.edxml"), buffer.getvalue()))
    assert packet.attachments[0].data == buffer.getvalue() and not packet.attachments[0].zipped


def test_a_packet_over_the_limit_is_refused_before_it_is_read() -> None:
    data = _with_attachment(sample("edoc_update.edxml"), b"%PDF" + b"x" * 300_000)
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_any(data, max_bytes=300_000)
    assert "quá lớn" in caught.value.message_vi
    assert edxml.parse_any(data, max_bytes=len(data))


def test_an_attachment_over_its_own_limit_is_refused() -> None:
    data = _with_attachment(sample("edoc_update.edxml"), b"%PDF" + b"x" * 300_000)
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_document(data, max_attachment_bytes=200_000)
    assert "quá lớn (tối đa 200,000 byte)" in caught.value.message_vi
    assert edxml.parse_document(data, max_attachment_bytes=300_004).attachments[0].data[:4] == (
        b"%PDF"
    )


def test_a_zip_expanding_beyond_the_attachment_limit_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.pdf", os.urandom(75_000).hex())  # compresses about 2:1, no bomb
    data = _with_attachment(sample("edoc_update.edxml"), buffer.getvalue())
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_document(data, max_attachment_bytes=100_000)
    assert "giải nén ra quá lớn" in caught.value.message_vi
    assert len(edxml.parse_document(data).attachments[0].data) == 150_000


def test_a_packet_without_files_is_refused_unless_it_recalls() -> None:
    def without_files(data: bytes) -> bytes:
        data = re.sub(rb"<AttachmentEncoded>.*</AttachmentEncoded>", b"", data, flags=re.S)
        return re.sub(rb"<edXML:Reference>.*</edXML:Reference>", b"", data, flags=re.S)

    for name in ("edoc_new.edxml", "edoc_update.edxml", "edoc_replacement.edxml"):
        with pytest.raises(MalformedPacketError) as caught:
            edxml.parse_document(without_files(sample(name)))
        assert "không có tệp văn bản đính kèm" in caught.value.message_vi, name
    recall = edxml.parse_document(without_files(sample("edoc_revocation.edxml")))
    assert recall.business.doc_type is BusinessDocType.RECALL and not recall.attachments


def test_a_reference_without_its_attachment_is_refused() -> None:
    data = re.sub(
        rb"<AttachmentEncoded>.*</AttachmentEncoded>", b"", sample("edoc_update.edxml"), flags=re.S
    )
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_document(data)
    assert "thiếu nội dung tệp" in caught.value.message_vi


def test_an_attachment_missing_from_the_manifest_is_refused() -> None:
    data = re.sub(
        rb"<edXML:Reference>.*</edXML:Reference>", b"", sample("edoc_update.edxml"), flags=re.S
    )
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_document(data)
    assert "danh mục tệp" in caught.value.message_vi


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        (rb"<edXML:From>.*?</edXML:From>", "From/OrganId"),
        (rb"<edXML:To>.*</edXML:To>", "cơ quan nhận"),
        (rb"<edXML:Code>.*?</edXML:Code>", "số và ký hiệu"),
    ],
)
def test_hard_rules(pattern: bytes, said: str) -> None:
    data = re.sub(pattern, b"", sample("edoc_update.edxml"), count=1, flags=re.S)
    with pytest.raises(MalformedPacketError) as caught:
        edxml.parse_document(data)
    assert said in caught.value.message_vi


def test_cid_prefix_on_one_side_only_still_matches() -> None:
    data = sample("edoc_update.edxml").replace(
        b"<ContentId>cid:209</ContentId>", b"<ContentId>209</ContentId>"
    )
    assert edxml.parse_document(data).attachments[0].content_id == "209"


@pytest.mark.parametrize(
    ("written", "name", "local"),
    [
        ((1, 0, "Công văn"), "Công văn", "CV"),  # the VPCP Java kit
        ((2, 18, "Công văn"), "Công văn", "CV"),  # list B, code 18
        ((18, 0, "Công văn"), "Công văn", "CV"),  # the .NET SDK's default
        ((2, 18, ""), "Công văn", "CV"),
        ((18, 0, ""), "Công văn", "CV"),
        ((2, 7, ""), "Thông báo", "TB"),
        ((1, 9, ""), "Thông tư", "CV"),  # a QPPL type no agency here issues
        ((2, 7, "Giấy mời"), "Giấy mời", "GM"),  # the name wins over the code
        ((2, 12, ""), "", "CV"),  # B12 was not legible in the sources: no guess
        ((0, 0, ""), "", "CV"),
    ],
)
def test_document_types_are_read_by_name_then_code(
    written: tuple[int, int, str], name: str, local: str
) -> None:
    kind, detail, type_name_text = written
    data = re.sub(
        rb"<edXML:DocumentType>.*?</edXML:DocumentType>",
        (
            f"<edXML:DocumentType><edXML:Type>{kind}</edXML:Type>"
            f"<edXML:TypeDetail>{detail}</edXML:TypeDetail>"
            f"<edXML:TypeName>{type_name_text}</edXML:TypeName></edXML:DocumentType>"
        ).encode(),
        sample("edoc_update.edxml"),
        count=1,
        flags=re.S,
    )
    packet = edxml.parse_document(data)
    assert packet.doc_type == DocumentType(type=kind, detail=detail, name=type_name_text)
    assert type_name(packet.doc_type) == name
    assert reception.local_type(type_name(packet.doc_type)) == local
    assert reception.incoming_form(packet).type_code == local
