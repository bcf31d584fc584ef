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


def _parser() -> etree.XMLParser:
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
    if len(data) > max_bytes:
        raise MalformedPacketError(
            f"Gói tin quá lớn ({len(data):,} byte, tối đa {max_bytes:,} byte). "
            "Hãy đề nghị cơ quan gửi giảm dung lượng tệp đính kèm hoặc gửi qua kênh khác.",
            f"The packet is too large ({len(data):,} bytes, at most {max_bytes:,}). "
            "Ask the sending agency to make the attachments smaller or to send it another way.",
        )
    try:
        tree = _parse(data)
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
    return root


def _parse(data: bytes) -> etree._ElementTree:
    try:
        return etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        if "Namespace prefix" not in str(exc.msg):
            raise
        repaired = _declare_known_prefixes(data)
        if repaired is None:
            raise
        return etree.fromstring(repaired, _parser()).getroottree()


def _declare_known_prefixes(data: bytes) -> bytes | None:
    """The packet with the known prefixes it does not declare declared on its root element."""
    match = _ROOT_START.search(data, data.find(b"?>") + 1 if data.startswith(b"<?xml") else 0)
    if match is None:
        return None
    root_tag = data[match.start() : data.find(b">", match.end())]
    declarations = b"".join(
        b' xmlns:%s="%s"' % (prefix.encode(), uri.encode())
        for prefix, uri in KNOWN_PREFIXES.items()
        if b"xmlns:" + prefix.encode() + b"=" not in root_tag
    )
    if not declarations:
        return None
    return data[: match.end()] + declarations + data[match.end() :]


def _depth(root: etree._Element) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in element)
    return deepest
