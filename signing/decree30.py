"""The Decree 30 issuing sequence, keeping the leader's signature valid (reference §6):

1. :func:`add_issuing_fields` — the draft gets text fields for the number (``so_van_ban``) and the
   issue date (``ngay_ban_hanh``) on page 1, where the draft left them blank, and an empty
   signature field for the agency seal on the signer's page, which locks the two text fields
   (FieldMDP) once it is signed.
2. The leader signs with a *certification* signature allowing form filling
   (``prepare_signature(..., certify=True)``).
3. :func:`prepare_seal_signature` with the number, symbol, date and place — the clerk's number
   and date (``/V`` plus an ``/AP /N`` appearance per widget) and the agency seal's signature in
   the existing field, in one incremental update. Any later change to the number or date makes
   the seal invalid (:mod:`signing.verify` says so); only validation data and document
   timestamps may follow (B-LTA, :mod:`signing.archive`).

No new field may be created after the certification signature: pyHanko's diff analysis flags it.
(:func:`fill_issuing_fields` fills the two fields in a revision of their own, for a document
issued without a seal.)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from asn1crypto import x509
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBox
from pyhanko.sign import fields
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, SigFieldSpec

from signing.appearance import (
    DEFAULT_FONT,
    ITALIC_FONT,
    AgencySealAppearance,
    Box,
    int_box,
    page_rotation,
    rotation_matrix,
    text_style,
)
from signing.errors import SigningError
from signing.pdfinput import open_reader, open_writer, pdf_errors
from signing.state import PadesLevel
from signing.twophase import PreparedSignature, prepare_signature

__all__ = [
    "DATE_FIELD",
    "NUMBER_FIELD",
    "SEAL_FIELD",
    "add_issuing_fields",
    "decree30_date",
    "fill_issuing_fields",
    "has_field",
    "page_rotation",
    "prepare_seal_signature",
]

NUMBER_FIELD = "so_van_ban"
DATE_FIELD = "ngay_ban_hanh"
SEAL_FIELD = "chu_ky_co_quan"

# What each field holds (its /TU, the name a reader shows): decided at upload from the draft.
NUMBER_ONLY = "Số văn bản"
NUMBER_AND_SYMBOL = "Số và ký hiệu văn bản"
DATE_ONLY = "Ngày ban hành"
PLACE_AND_DATE = "Địa danh và ngày ban hành"


def decree30_date(day: date) -> str:
    """The date as Decree 30 writes it: days under 10 and the months 1 and 2 with a leading zero,
    the others without (``ngày 05 tháng 3 năm 2026``, ``ngày 28 tháng 02 năm 2026``,
    ``ngày 12 tháng 11 năm 2026``).

    Args:
        day: the date.

    Returns:
        ``ngày DD tháng M năm YYYY``.
    """
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def _rect(box: Box) -> generic.ArrayObject:
    return generic.ArrayObject(generic.FloatObject(v) for v in box)


def _acroform(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    root = writer.root
    if "/AcroForm" not in root:
        form = generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject()})
        root[pdf_name("/AcroForm")] = writer.add_object(form)
        writer.update_root()
    form = root["/AcroForm"]
    assert isinstance(form, generic.DictionaryObject)
    return form


def add_issuing_fields(
    *,
    pdf: bytes,
    number_box: Box,
    date_box: Box,
    seal_page: int,
    seal_box: Box,
    text_size: float = 11,
    number_with_symbol: bool = False,
    date_with_place: bool = False,
) -> bytes:
    """Add the number and issue-date text fields (page 1) and the empty seal signature field
    (the signature page) to a draft.

    Must run before the leader's (certification) signature. Boxes are in each page's own PDF
    coordinates (see :func:`signing.textpos.find_positions`).

    Args:
        pdf: the unsigned draft.
        number_box: the gap of ``Số: …/…`` on page 1.
        date_box: the placeholders of the date line on page 1.
        seal_page: zero-based page of the seal (the last page, with the signer block).
        seal_box: box of the seal.
        text_size: font size of the filled-in number and date (points).
        number_with_symbol: the number gap is the whole ``…`` of a ``Số:`` line without ``/``:
            the field gets number and symbol.
        date_with_place: the place is left blank too: the date field gets the place.

    Returns:
        The draft with the fields, as a new revision.

    Raises:
        BadPdfError: for unusable input.
        SigningError: if the document is already signed or the fields exist.
    """
    writer = open_writer(pdf)
    with pdf_errors():
        if list(fields.enumerate_sig_fields(writer, filled_status=True)):
            raise SigningError(
                "issuing fields must be added before the first signature",
                message_vi="Phải tạo ô số/ngày văn bản trước khi lãnh đạo ký.",
            )
        page_ref = writer.find_page_for_modification(0)[0]
        page_obj = page_ref.get_object()
        form = _acroform(writer)
        existing = {str(f.get_object().get("/T")) for f in form.get("/Fields", [])}
        if {NUMBER_FIELD, DATE_FIELD, SEAL_FIELD} & existing:
            raise SigningError("issuing fields already present")
        annots = page_obj.get("/Annots", generic.ArrayObject())
        kinds = {
            NUMBER_FIELD: (number_box, NUMBER_AND_SYMBOL if number_with_symbol else NUMBER_ONLY),
            DATE_FIELD: (date_box, PLACE_AND_DATE if date_with_place else DATE_ONLY),
        }
        for name, (box, kind) in kinds.items():
            field = generic.DictionaryObject(
                {
                    pdf_name("/FT"): pdf_name("/Tx"),
                    pdf_name("/T"): pdf_string(name),
                    pdf_name("/TU"): pdf_string(kind),
                    pdf_name("/Type"): pdf_name("/Annot"),
                    pdf_name("/Subtype"): pdf_name("/Widget"),
                    pdf_name("/Rect"): _rect(box),
                    pdf_name("/F"): generic.NumberObject(4),
                    pdf_name("/P"): page_ref,
                    pdf_name("/DA"): pdf_string(f"/Helv {text_size:.1f} Tf 0 g"),
                }
            )
            rotation = page_rotation(page_obj)
            if rotation:
                field[pdf_name("/MK")] = generic.DictionaryObject(
                    {pdf_name("/R"): generic.NumberObject(rotation)}
                )
            ref = writer.add_object(field)
            annots.append(ref)
            form["/Fields"].append(ref)
        page_obj[pdf_name("/Annots")] = annots
        writer.update_container(page_obj)
        writer.update_container(form)
        # The seal locks the number and date (FieldMDP): a re-fill after issuance makes the
        # seal's modification check fail, while the leader's certification (FILL_FORMS) still
        # allows the clerk's one filling, made in the seal's own revision.
        fields.append_signature_field(
            writer,
            SigFieldSpec(
                SEAL_FIELD,
                on_page=seal_page,
                box=int_box(seal_box),
                field_mdp_spec=FieldMDPSpec(
                    action=FieldMDPAction.INCLUDE, fields=[NUMBER_FIELD, DATE_FIELD]
                ),
            ),
        )
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


def _appearance(
    writer: IncrementalPdfFileWriter,
    text: str,
    field: generic.DictionaryObject,
    font_path: str,
) -> generic.IndirectObject:
    rect = [float(v) for v in field["/Rect"]]
    page = field["/P"].get_object() if "/P" in field else None
    rotation = page_rotation(page) if isinstance(page, generic.DictionaryObject) else 0
    width, height = abs(rect[2] - rect[0]), abs(rect[3] - rect[1])
    if rotation in (90, 270):
        width, height = height, width
    size = _field_size(field)
    # Shrink to fit: the filled-in text never runs out of its gap.
    length = _text_length(text, size, font_path)
    if length > width - 2:
        size = max(5, int(size * (width - 2) / length))
    fit = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MIN,
        y_align=layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins.uniform(1),
    )
    style = text_style(font_path, size, (0.0, 0.0, 0.0), fit)
    box = _OpaqueTextBox(style, writer, box=layout.BoxConstraints(width=width, height=height))
    box.content = text
    xobject = box.as_form_xobject()
    if rotation:
        xobject[pdf_name("/Matrix")] = rotation_matrix(rotation)
    return writer.add_object(xobject)


class _OpaqueTextBox(TextBox):
    """A text box on white: the filled-in value hides the dots it replaces."""

    def render(self) -> bytes:
        w, h = self.box.width, self.box.height
        return f"q 1 g 0 0 {w:.2f} {h:.2f} re f Q\n".encode() + bytes(super().render())  # type: ignore[no-untyped-call]


def _field_size(field: generic.DictionaryObject) -> int:
    parts = str(field.get("/DA", "")).split()
    try:
        return max(6, round(float(parts[parts.index("Tf") - 1])))
    except (ValueError, IndexError):
        return 11


def _text_length(text: str, size: int, font_path: str) -> float:
    from PIL import ImageFont

    return float(ImageFont.truetype(font_path, 100).getlength(text)) * size / 100


def fill_issuing_fields(
    *,
    pdf: bytes,
    number: int,
    symbol: str,
    issue_date: date,
    place: str,
    font_path: str = DEFAULT_FONT,
) -> bytes:
    """Fill the number and issue-date fields (after the leader signed), as a new revision.

    Each widget gets ``/V`` and an ``/AP /N`` appearance set in the embedded Noto font (upright
    on a turned page, shrunk to fit its gap), so the change is plain form filling and the
    leader's certification signature stays valid. What goes in follows what the draft left
    blank (the fields' ``/TU``, set by :func:`add_issuing_fields`): the number alone in the gap
    before the drafted ``/symbol``, or number and symbol; the Decree 30 date
    (:func:`decree30_date`) after the drafted place, or place and date.

    Args:
        pdf: the document signed by the leader.
        number: the register number.
        symbol: the symbol, e.g. ``"QĐ-UBND"``.
        issue_date: the issue date.
        place: the place name (địa danh) of the issuing agency.
        font_path: OpenType font for the appearance.

    Returns:
        The updated document.

    Raises:
        BadPdfError: for unusable input.
        SigningError: if the fields are missing.
    """
    writer = open_writer(pdf)
    with pdf_errors():
        _fill(
            writer,
            number=number,
            symbol=symbol,
            issue_date=issue_date,
            place=place,
            font_path=font_path,
        )
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


def _fill(
    writer: IncrementalPdfFileWriter,
    *,
    number: int,
    symbol: str,
    issue_date: date,
    place: str,
    font_path: str,
) -> None:
    when = decree30_date(issue_date)
    texts = {
        NUMBER_ONLY: f"{number:02d}",
        NUMBER_AND_SYMBOL: f"{number:02d}/{symbol}",
        DATE_ONLY: when,
        PLACE_AND_DATE: f"{place}, {when}",
    }
    values = (NUMBER_FIELD, DATE_FIELD)
    form = writer.root["/AcroForm"] if "/AcroForm" in writer.root else None  # noqa: SIM401
    found: dict[str, generic.DictionaryObject] = {}
    for ref in form["/Fields"] if form is not None else []:
        field = ref.get_object()
        name = str(field.get("/T"))
        if name in values:
            found[name] = field
    missing = set(values) - set(found)
    if missing:
        raise SigningError(
            f"fields missing: {sorted(missing)}",
            message_vi="Văn bản không có ô số/ngày ban hành để điền.",
        )
    for name, field in found.items():
        default = NUMBER_ONLY if name == NUMBER_FIELD else DATE_ONLY
        text = texts.get(str(field.get("/TU", default)), texts[default])
        field[pdf_name("/V")] = pdf_string(text)
        italic = name == DATE_FIELD and font_path == DEFAULT_FONT
        ap = _appearance(writer, text, field, ITALIC_FONT if italic else font_path)
        field[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        writer.update_container(field)


def has_field(*, pdf: bytes, name: str) -> bool:
    """Whether the document has a signature field of that name (signed or not).

    Raises:
        BadPdfError: for unusable input.
    """
    with pdf_errors():
        return bool(list(fields.enumerate_sig_fields(open_reader(pdf), with_name=name)))


async def prepare_seal_signature(
    *,
    pdf: bytes,
    seal_cert: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    seal_image: bytes,
    agency_name: str,
    level: PadesLevel = PadesLevel.B_LT,
    number: int | None = None,
    symbol: str = "",
    issue_date: date | None = None,
    place: str = "",
    font_path: str = DEFAULT_FONT,
) -> PreparedSignature:
    """Phase 1 of the agency seal signature in the existing seal field.

    The seal field locks the number and date (FieldMDP). Given ``number`` and ``issue_date``,
    they are filled (as :func:`fill_issuing_fields` does) in the seal's own revision, so the
    seal covers exactly the revision that set them. (pyHanko 0.38's lock analysis also needs
    this: it takes the appearance stream of a locked field last changed *before* the locking
    signature's revision for "updated" in every later revision, so a DSS or archival timestamp
    after the seal would rate it OTHER.)

    Args:
        pdf: the document signed by the leader (or with number and date already filled).
        seal_cert: the agency's certificate.
        chain: intermediate certificates.
        seal_image: red seal PNG.
        agency_name: shown with the signing time under the seal.
        level: PAdES level.
        number: the register number to fill.
        symbol: the symbol, e.g. ``"QĐ-UBND"``.
        issue_date: the issue date to fill.
        place: the issuing agency's place name (địa danh).
        font_path: OpenType font for the filled-in values.

    Returns:
        The :class:`PreparedSignature`; finish with :func:`signing.finish_signature`.

    Raises:
        SigningError: (subclasses) as :func:`signing.prepare_signature`.
    """
    with pdf_errors():
        present = list(fields.enumerate_sig_fields(open_writer(pdf), with_name=SEAL_FIELD))
    if not present:
        raise SigningError(
            f"no {SEAL_FIELD!r} field: add it with add_issuing_fields before the leader signs",
            message_vi="Văn bản chưa có ô chữ ký của cơ quan (phải tạo trước khi lãnh đạo ký).",
        )
    if (number is None) != (issue_date is None):
        raise SigningError("number and issue date are filled together")
    appearance = AgencySealAppearance(
        seal_image=seal_image, agency_name=agency_name, page=0, box=(0, 0, 1, 1)
    )

    def fill(writer: IncrementalPdfFileWriter) -> None:
        assert number is not None and issue_date is not None
        _fill(
            writer,
            number=number,
            symbol=symbol,
            issue_date=issue_date,
            place=place,
            font_path=font_path,
        )

    return await prepare_signature(
        pdf=pdf,
        signer_cert=seal_cert,
        chain=chain,
        appearance=appearance,
        level=level,
        field_name=SEAL_FIELD,
        edit=fill if number is not None else None,
    )
