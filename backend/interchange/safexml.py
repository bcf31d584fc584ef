"""The one way a received packet becomes an XML tree: no DTDs, no entities, no network, bounded
size.

Entity expansion ("billion laughs"), external entities (local files, URLs) and DOCTYPEs are refused
outright rather than silently dropped: no producer on the axis needs them, so one is a sign of a
hostile or broken packet the clerk should see.
"""

from __future__ import annotations

import re

from lxml import etree

from backend.interchange.errors import MalformedPacketError

DEFAULT_MAX_PACKET_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
# Attachments are base64 text nodes of tens of MB (libxml2's "huge" mode, bounded by the packet
# size), but no producer writes long attributes: one over this is refused.
MAX_ATTRIBUTE = 64 * 1024

# Producers use these prefixes without declaring them (the VPCP kit's `edoc.edxml` has `xlink:href`
# with no xmlns:xlink). Such a packet is repaired by declaring them on the root element.
KNOWN_PREFIXES = {
    "edXML": "http://www.mic.gov.vn/TBT/QCVN_102_2016",
    "xlink": "http://www.w3.org/1999/xlink",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
_ROOT_START = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def hardened_parser() -> etree.XMLParser:
    """The parser settings every packet is read with (also given to signxml, which re-parses the
    packet it verifies)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_packet(data: bytes, *, max_bytes: int = DEFAULT_MAX_PACKET_BYTES) -> etree._Element:
    return parse_packet_noting_repairs(data, max_bytes=max_bytes)[0]


def parse_packet_noting_repairs(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_PACKET_BYTES
) -> tuple[etree._Element, tuple[str, ...]]:
    """The packet's root element, and the prefixes that had to be declared for it to parse
    (README §7.2: VPCP's own fixture uses `xlink:` and `edXML:` undeclared)."""
    if len(data) > max_bytes:
        raise MalformedPacketError(
            f"Gói tin quá lớn ({len(data):,} byte, tối đa {max_bytes:,} byte). "
            "Hãy đề nghị cơ quan gửi giảm dung lượng tệp đính kèm hoặc gửi qua kênh khác.",
            f"The packet is too large ({len(data):,} bytes, at most {max_bytes:,}). "
            "Ask the sending agency to make the attachments smaller or to send it another way.",
        )
    _refuse_bytes_before_the_declaration(data)
    try:
        tree, repaired = _parse(data)
    except etree.XMLSyntaxError as exc:
        raise MalformedPacketError(
            f"Gói tin không phải XML hợp lệ ({exc.msg}). Hãy đề nghị cơ quan gửi gửi lại.",
            f"The packet is not well-formed XML ({exc.msg}). "
            "Ask the sending agency to send it again.",
        ) from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise MalformedPacketError(
            "Gói tin có khai báo DOCTYPE/thực thể, bị từ chối vì lý do an toàn. "
            "Hãy báo cơ quan gửi.",
            "The packet declares a DOCTYPE or entities and is refused for safety. "
            "Tell the sending agency.",
        )
    root = tree.getroot()
    for element in root.iter():
        if isinstance(element, etree._Entity):
            raise MalformedPacketError(
                "Gói tin dùng tham chiếu thực thể XML, bị từ chối vì lý do an toàn. "
                "Hãy báo cơ quan gửi.",
                "The packet uses XML entity references and is refused for safety. "
                "Tell the sending agency.",
            )
    for element in root.iter():
        if any(len(value) > MAX_ATTRIBUTE for value in element.attrib.values()):
            raise MalformedPacketError(
                "Gói tin có thuộc tính XML dài bất thường, bị từ chối vì lý do an toàn. "
                "Hãy báo cơ quan gửi.",
                "The packet has an abnormally long XML attribute and is refused for safety. "
                "Tell the sending agency.",
            )
    if _depth(root) > MAX_DEPTH:
        raise MalformedPacketError(
            f"Gói tin lồng nhau quá sâu (hơn {MAX_DEPTH} cấp), bị từ chối. Hãy báo cơ quan gửi.",
            f"The packet is nested too deeply (more than {MAX_DEPTH} levels) and is refused. "
            "Tell the sending agency.",
        )
    return root, repaired


def _refuse_bytes_before_the_declaration(data: bytes) -> None:
    """An XML declaration must be the very first thing in the file (after a BOM). Bytes before it
    (the VPCP kit's `edoc_new.edxml` starts with a stray `1212`) make the packet unreadable:
    refused with that said plainly, not repaired — which bytes are garbage is guesswork."""
    start = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    declaration = start.find(b"<?xml")
    if declaration <= 0 or b"<" in start[:declaration]:
        return
    raise MalformedPacketError(
        f"Gói tin có {declaration} byte lạ trước phần khai báo XML (<?xml …?>) nên không đọc "
        "được. Hãy đề nghị cơ quan gửi kiểm tra phần mềm tạo gói tin và gửi lại.",
        f"The packet has {declaration} stray bytes before its XML declaration (<?xml …?>) and "
        "cannot be read. Ask the sending agency to check the software that writes its packets "
        "and to send it again.",
    )


def _parse(data: bytes) -> tuple[etree._ElementTree, tuple[str, ...]]:
    try:
        return etree.fromstring(data, hardened_parser()).getroottree(), ()
    except etree.XMLSyntaxError as exc:
        if "Namespace prefix" not in str(exc.msg):
            raise
        found = _declare_known_prefixes(data)
        if found is None:
            raise
        repaired, prefixes = found
        return etree.fromstring(repaired, hardened_parser()).getroottree(), prefixes


def _declare_known_prefixes(data: bytes) -> tuple[bytes, tuple[str, ...]] | None:
    """The packet with the known prefixes it does not declare declared on its root element, and
    those prefixes."""
    match = _ROOT_START.search(data, data.find(b"?>") + 1 if data.startswith(b"<?xml") else 0)
    if match is None:
        return None
    root_tag = data[match.start() : data.find(b">", match.end())]
    missing = tuple(
        prefix
        for prefix in KNOWN_PREFIXES
        if b"xmlns:" + prefix.encode() + b"=" not in root_tag
        and re.search(rb"[<\s]" + prefix.encode() + rb":[A-Za-z_]", data)
    )
    if not missing:
        return None
    declarations = b"".join(
        b' xmlns:%s="%s"' % (prefix.encode(), KNOWN_PREFIXES[prefix].encode()) for prefix in missing
    )
    return data[: match.end()] + declarations + data[match.end() :], missing


def _depth(root: etree._Element) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in element)
    return deepest
