"""What the simulated axis reads in a packet: its recipients, a title and a notation for
getSentEdocList. Elements are found by local name, in any namespace, in any order."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from backend.interchange.safexml import parse_packet

__all__ = ["PacketInfo", "read_packet"]


@dataclass(frozen=True, slots=True)
class PacketInfo:
    """Recipients in packet order, without repeats; title/notation may be empty."""

    to: tuple[str, ...]
    response_for: tuple[str, ...]
    title: str
    notation: str


def read_packet(data: bytes, *, max_bytes: int) -> PacketInfo:
    """Raises `MalformedPacketError` (from safexml) when the packet is not acceptable XML."""
    root = parse_packet(data, max_bytes=max_bytes)
    to: list[str] = []
    notation = ""
    for header in root.iter("{*}MessageHeader", "{*}Status"):
        to += [_text(element, "OrganId") for element in header.iterfind("{*}To")]
        code = header.find("{*}Code")
        if code is not None and not notation:
            number, sign = _text(code, "CodeNumber"), _text(code, "CodeNotation")
            notation = f"{number}/{sign}" if number and sign else number or sign
    response_for = [_text(element, "OrganId") for element in root.iter("{*}ResponseFor")]
    if not notation:
        notation = next(
            (c for c in (_text(e, "Code") for e in root.iter("{*}ResponseFor")) if c), ""
        )
    subject = root.find(".//{*}Subject")
    description = root.find(".//{*}Description")
    title = subject if subject is not None else description
    return PacketInfo(
        to=_unique(to),
        response_for=_unique(response_for),
        title=(title.text or "").strip() if title is not None else "",
        notation=notation,
    )


def _text(element: etree._Element, local_name: str) -> str:
    child = element.find("{*}" + local_name)
    return (child.text or "").strip() if child is not None else ""


def _unique(codes: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for code in codes if code))
