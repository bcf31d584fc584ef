"""Decree 30 signature appearances.

* Leader: the handwritten signature image (blue PNG with transparency) in the signature block, with
  an optional small line of text (name and time).
* Agency seal: the red seal image, overlapping about a third of the leader's signature on its left,
  with the agency name and the signing time ``dd/MM/yyyy HH:mm:ss +07:00``.
* Attachment stamp: text only, top right of page 1: number and symbol plus signing time.

Text is set in an embedded OpenType font (Noto Sans from Debian's fonts-noto-core by default), so
Vietnamese diacritics render everywhere.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PIL import Image
from pyhanko.pdf_utils import generic, images, layout
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStamp, TextStampStyle

if TYPE_CHECKING:
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

__all__ = [
    "DEFAULT_FONT",
    "VIETNAM_TZ",
    "AgencySealAppearance",
    "Appearance",
    "AttachmentStampAppearance",
    "Box",
    "LeaderAppearance",
    "format_signing_time",
    "media_box",
    "page_rotation",
    "rotation_matrix",
    "seal_box_overlapping",
]

DEFAULT_FONT = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
# The place-and-date line of Decree 30 is set in italics.
ITALIC_FONT = "/usr/share/fonts/truetype/noto/NotoSans-Italic.ttf"
VIETNAM_TZ = timezone(timedelta(hours=7))

Box = tuple[float, float, float, float]
"""``(x1, y1, x2, y2)`` in PDF points, origin at the bottom left of the page."""


def format_signing_time(*, moment: datetime) -> str:
    """Format a time as Decree 30 shows it: ``dd/MM/yyyy HH:mm:ss +07:00`` (Vietnam time).

    Args:
        moment: an aware datetime.

    Returns:
        The formatted time in UTC+07:00.
    """
    return moment.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M:%S +07:00")


def seal_box_overlapping(*, leader_box: Box, size: float = 120.0, text_height: float = 0) -> Box:
    """Place a square seal so that it covers about a third of the leader's box on its left.

    Args:
        leader_box: the leader signature's box.
        size: the seal's side in points (actual size is about 35-40 mm ≈ 100-115 pt).
        text_height: extra height below the seal for the agency name and time.

    Returns:
        The seal field's box.
    """
    x1, y1, x2, y2 = leader_box
    right = x1 + (x2 - x1) / 3
    middle = (y1 + y2) / 2
    top = middle + size / 2
    return (right - size, top - size - text_height, right, top)


@dataclass(frozen=True)
class LeaderAppearance:
    """A leader's visible signature.

    Attributes:
        signature_image: PNG bytes of the handwritten signature (blue, transparent background).
        page: zero-based page index.
        box: where to draw it.
        text: optional small line under the image (e.g. name and time); ``{time}`` is replaced
            by the signing time.
    """

    signature_image: bytes
    page: int
    box: Box
    text: str | None = None
    font_path: str = DEFAULT_FONT


@dataclass(frozen=True)
class AgencySealAppearance:
    """The agency's seal signature.

    Attributes:
        seal_image: PNG bytes of the seal (red, transparent background, actual size).
        agency_name: shown under the seal.
        page: zero-based page index.
        box: the field's box (see :func:`seal_box_overlapping`); ignored when signing an existing
            field, which keeps its own box.
    """

    seal_image: bytes
    agency_name: str
    page: int
    box: Box
    font_path: str = DEFAULT_FONT


@dataclass(frozen=True)
class AttachmentStampAppearance:
    """Text-only agency stamp for attachments: top right of page 1.

    Attributes:
        reference: the document's number and symbol, e.g. ``"123/QĐ-UBND"``.
        agency_name: the signing agency.
        width, height, margin: size of the stamp and distance from the page corner (points).
    """

    reference: str
    agency_name: str
    width: float = 220
    height: float = 48
    margin: float = 18
    font_path: str = DEFAULT_FONT


Appearance = LeaderAppearance | AgencySealAppearance | AttachmentStampAppearance


@lru_cache(maxsize=8)
def _font_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


@dataclass(frozen=True)
class _InMemoryFontFactory(FontEngineFactory):
    """pyHanko's `GlyphAccumulatorFactory`, but reading the font once and handing each engine an
    in-memory copy (pyHanko's opens the file and never closes it: a ResourceWarning)."""

    font_file: str
    font_size: int

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: Any = None
    ) -> GlyphAccumulator:
        # Imported on the first signature, not by every server process: fontTools and HarfBuzz
        # are ~20 MB resident, and most processes never draw a stamp (as pyHanko's own
        # TextBoxStyle config loader does).
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(_font_bytes(self.font_file)),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


def _font(path: str, size: int) -> FontEngineFactory:
    return _InMemoryFontFactory(path, font_size=size)


def _png(data: bytes) -> images.PdfImage:
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")
    return images.PdfImage(image)


def text_style(
    font_path: str,
    size: int,
    color: tuple[float, float, float],
    box_layout_rule: layout.SimpleBoxLayoutRule | None = None,
) -> TextBoxStyle:
    """Text box style in the given OpenType font, size and RGB colour (internal)."""
    return TextBoxStyle(
        font=_font(font_path, size),
        font_size=size,
        text_color=color,
        box_layout_rule=box_layout_rule,
    )


_BLUE = (0.0, 0.13, 0.55)
_RED = (0.75, 0.0, 0.0)
_BOTTOM = layout.SimpleBoxLayoutRule(
    x_align=layout.AxisAlignment.ALIGN_MID,
    y_align=layout.AxisAlignment.ALIGN_MIN,
    margins=layout.Margins.uniform(1),
)


def _inherited(page: generic.DictionaryObject, key: str) -> generic.PdfObject | None:
    node: generic.PdfObject | None = page
    while isinstance(node, generic.DictionaryObject):
        if key in node:
            found: generic.PdfObject = node[key]
            return found
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return None


def media_box(page: generic.DictionaryObject) -> Box:
    """A page's ``/MediaBox`` (inherited from the page tree), normalised to ``(x1, y1, x2, y2)``."""
    found = _inherited(page, "/MediaBox")
    if found is None:
        return (0.0, 0.0, 595.0, 842.0)  # ISO 32000 requires one; A4 for a page that lacks it
    a, b, c, d = (float(v) for v in found.get_object())
    return (min(a, c), min(b, d), max(a, c), max(b, d))


def page_rotation(page: generic.DictionaryObject) -> int:
    """A page's ``/Rotate`` (inherited from the page tree), as 0, 90, 180 or 270."""
    found = _inherited(page, "/Rotate")
    return int(found.get_object()) % 360 if found is not None else 0


def rotation_matrix(rotation: int) -> generic.ArrayObject:
    """The form XObject ``/Matrix`` that turns an appearance by a page's ``/Rotate`` (clockwise
    degrees), so that it shows upright on the turned page (the viewer maps the turned box onto
    the widget's rectangle, ISO 32000-1 § 12.5.5)."""
    turns = {0: (1, 0, 0, 1), 90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}
    a, b, c, d = turns[rotation % 360]
    return generic.ArrayObject(generic.NumberObject(v) for v in (a, b, c, d, 0, 0))


class _TurnedStamp(TextStamp):
    rotation: int = 0

    def as_form_xobject(self) -> generic.StreamObject:
        xobject = super().as_form_xobject()
        xobject[pdf_name("/Matrix")] = rotation_matrix(self.rotation)
        return xobject


@dataclass(frozen=True)
class _TurnedStampStyle(TextStampStyle):
    """A text stamp drawn upright on a page turned by ``/Rotate``."""

    rotation: int = 0

    def create_stamp(
        self, writer: BasePdfFileWriter, box: layout.BoxConstraints, text_params: dict[str, Any]
    ) -> TextStamp:
        if self.rotation in (90, 270) and box.width_defined and box.height_defined:
            box = layout.BoxConstraints(width=box.height, height=box.width)
        stamp = _TurnedStamp(writer=writer, style=self, box=box, text_params=text_params)
        stamp.rotation = self.rotation
        return stamp


def build_style(
    appearance: Appearance, *, signer_name: str, signing_time: datetime, rotation: int = 0
) -> tuple[TextStampStyle, dict[str, str]]:
    """Build the pyHanko stamp style and text parameters for an appearance (internal); on a page
    turned by ``/Rotate`` the stamp is turned back so that it shows upright."""
    style, params = _build_style(appearance, signer_name=signer_name, signing_time=signing_time)
    if rotation % 360:
        fields = {f: getattr(style, f) for f in style.__dataclass_fields__}
        return _TurnedStampStyle(**fields, rotation=rotation % 360), params
    return style, params


def _build_style(
    appearance: Appearance, *, signer_name: str, signing_time: datetime
) -> tuple[TextStampStyle, dict[str, str]]:
    when = format_signing_time(moment=signing_time)
    if isinstance(appearance, LeaderAppearance):
        text = (appearance.text or "").replace("{time}", when).replace("{name}", signer_name)
        image_rule = layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(bottom=12 if text else 0),
        )
        style = TextStampStyle(
            stamp_text="%(line)s",
            # pyHanko's glyph accumulator fails on an empty text (no glyphs): use the
            # standard font then, which embeds nothing.
            text_box_style=text_style(appearance.font_path, 7, _BLUE) if text else TextBoxStyle(),
            inner_content_layout=_BOTTOM,
            border_width=0,
            background=_png(appearance.signature_image),
            background_layout=image_rule,
            background_opacity=1.0,
        )
        return style, {"line": text}
    if isinstance(appearance, AgencySealAppearance):
        image_rule = layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MAX,
            margins=layout.Margins(bottom=22),
        )
        style = TextStampStyle(
            stamp_text="%(agency)s\n%(time)s",
            text_box_style=text_style(appearance.font_path, 7, _RED),
            inner_content_layout=_BOTTOM,
            border_width=0,
            background=_png(appearance.seal_image),
            background_layout=image_rule,
            background_opacity=1.0,
        )
        return style, {"agency": appearance.agency_name, "time": when}
    style = TextStampStyle(
        stamp_text="%(agency)s\nSố: %(ref)s\nThời gian ký: %(time)s",
        text_box_style=text_style(appearance.font_path, 8, _RED),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(3),
        ),
        border_width=1,
        border_color=_RED,
    )
    return style, {"agency": appearance.agency_name, "ref": appearance.reference, "time": when}


def int_box(box: Box) -> tuple[int, int, int, int]:
    """Round a box to whole points (pyHanko's field boxes are integers) (internal)."""
    return (round(box[0]), round(box[1]), round(box[2]), round(box[3]))


def attachment_box(appearance: AttachmentStampAppearance, media_box: Box) -> Box:
    """Top-right box of the attachment stamp on a page with the given media box (internal)."""
    _, _, right, top = media_box
    m = appearance.margin
    return (right - m - appearance.width, top - m - appearance.height, right - m, top - m)
