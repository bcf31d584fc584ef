"""The vendor shape every packet we write has (README §2.1): root `edXML` in the default
namespace, `edXML:edXMLEnvelope` declaring the prefix, every envelope element prefixed. VPCP's
validator rejects namespace-equivalent files that lost the prefixes, so the shape matters."""

from __future__ import annotations

import dataclasses
import unicodedata

from lxml import etree

from backend.interchange.packet import ORGAN_FIELDS, Organisation

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def envelope() -> tuple[etree._Element, etree._Element]:
    """The root `edXML` and its `edXML:edXMLEnvelope`."""
    root = etree.Element(f"{{{NS}}}edXML", nsmap={None: NS})
    return root, etree.SubElement(root, f"{{{NS}}}edXMLEnvelope", nsmap={"edXML": NS})


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        element.text = unicodedata.normalize("NFC", text)
    return element


def serialise(root: etree._Element, *, pretty: bool = True) -> bytes:
    """UTF-8, LF, the XML declaration written as the vendors write it. A signed tree is written
    as it is (`pretty=False`): indenting would change what was signed."""
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=pretty)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def organisation(parent: etree._Element, tag: str, organ: Organisation) -> None:
    """An Organization (From, To) with all eight elements, empty ones included (the Bkav hub
    checks they are present)."""
    element = sub(parent, tag)
    for name, value in zip(ORGAN_FIELDS, dataclasses.astuple(organ), strict=True):
        sub(element, name, value)
