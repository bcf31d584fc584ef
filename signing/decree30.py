"""The Decree 30 issuing sequence, keeping the leader's signature valid (reference §6):

1. :func:`add_issuing_fields` — the draft gets text fields for the number (``so_van_ban``) and the
   issue date (``ngay_ban_hanh``) and an empty signature field for the agency seal, which locks
   the two text fields (FieldMDP) once it is signed.
2. The leader signs with a *certification* signature allowing form filling
   (``prepare_signature(..., certify=True)``).
3. :func:`prepare_seal_signature` with ``number`` and ``issue_date`` — the clerk's number and
   date (``/V`` plus an ``/AP /N`` appearance per widget) and the agency seal's signature in the
   existing field, in one incremental update. Any later change to the number or date makes the
   seal invalid (:mod:`signing.verify` says so); only validation data and document timestamps
   may follow (B-LTA, :mod:`signing.archive`).

No new field may be created after the certification signature: pyHanko's diff analysis flags it.
(:func:`fill_issuing_fields` fills the two fields in a revision of their own, for a document
issued without a seal.)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
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
    AgencySealAppearance,
    Box,
    int_box,
    seal_box_overlapping,
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
    "IssuingLayout",
    "add_issuing_fields",
    "fill_issuing_fields",
    "has_field",
    "issue_date_line",
    "issuing_layout",
    "layout_for_page",
    "prepare_seal_signature",
]

NUMBER_FIELD = "so_van_ban"
DATE_FIELD = "ngay_ban_hanh"
SEAL_FIELD = "chu_ky_co_quan"


A4_WIDTH = 595.0


@dataclass(frozen=True)
class IssuingLayout:
    """Where the issuing fields and the signatures go on one page (PDF points).

    Attributes:
        page_box: the page's media box.
        number_box: the ``Số:`` value, top left.
        date_box: the place-and-date line, top right.
        leader_box: the leader's signature, bottom right.
        seal_box: the agency seal, over the left third of the leader's signature.
    """

    page_box: Box
    number_box: Box
    date_box: Box
    leader_box: Box
    seal_box: Box


def layout_for_page(page_box: Box) -> IssuingLayout:
    """The issuing layout for a page of the given media box, portrait or landscape, any size.

    Each box keeps its distance from the corner it is anchored to (A4 portrait gives the
    classic positions: number at x 60-280, date at x 300-560, 52 pt from the top; the leader's
    signature 85 pt from the right and 110 pt from the bottom); pages narrower than A4 shrink
    the horizontal distances in proportion so that nothing overlaps or leaves the page.

    Args:
        page_box: ``(x1, y1, x2, y2)`` of the page's media box.

    Returns:
        The :class:`IssuingLayout`.
    """
    x1, y1, x2, y2 = page_box
    k = min(1.0, (x2 - x1) / A4_WIDTH)
    number = (x1 + 60 * k, y2 - 72, x1 + 280 * k, y2 - 52)
    date = (x2 - 295 * k, y2 - 72, x2 - 35 * k, y2 - 52)
    leader = (x2 - 265 * k, y1 + 110, x2 - 85 * k, y1 + 190)
    seal = seal_box_overlapping(leader_box=leader)
    return IssuingLayout(
        page_box=page_box, number_box=number, date_box=date, leader_box=leader, seal_box=seal
    )


def _media_box(page: generic.DictionaryObject) -> Box:
    node: generic.PdfObject | None = page
    while isinstance(node, generic.DictionaryObject):
        if "/MediaBox" in node:
            a, b, c, d = (float(v) for v in node["/MediaBox"])
            return (min(a, c), min(b, d), max(a, c), max(b, d))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    raise SigningError("page without a media box", message_vi="Trang PDF không có kích thước.")


def issuing_layout(*, pdf: bytes, page: int) -> IssuingLayout:
    """The issuing layout of one page of a document (see :func:`layout_for_page`).

    The media box decides the size and orientation; a page turned by ``/Rotate`` is laid out
    by its unrotated media box.

    Args:
        pdf: the document.
        page: zero-based page index.

    Returns:
        The :class:`IssuingLayout` for that page.

    Raises:
        BadPdfError: for unusable input.
        SigningError: if the page has no media box.
    """
    with pdf_errors():
        reader = open_reader(pdf)
        page_obj = reader.find_page_for_modification(page)[0].get_object()
        return layout_for_page(_media_box(page_obj))


def issue_date_line(*, place: str, day: date) -> str:
    """The place-and-date line as Decree 30 writes it (Appendix I): days below 10 and the
    months January and February with a leading zero, the others without.

    Args:
        place: the place name (địa danh), e.g. ``"Tây Ninh"``.
        day: the issue date.

    Returns:
        E.g. ``"Tây Ninh, ngày 05 tháng 3 năm 2026"``, ``"…, ngày 21 tháng 02 năm 2026"``.
    """
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def has_field(*, pdf: bytes, name: str) -> bool:
    """Whether the document has a signature field of that name (signed or not).

    Raises:
        BadPdfError: for unusable input.
    """
    with pdf_errors():
        return bool(list(fields.enumerate_sig_fields(open_reader(pdf), with_name=name)))


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
    page: int,
    number_box: Box,
    date_box: Box,
    seal_box: Box,
) -> bytes:
    """Add the number and issue-date text fields and the empty seal signature field to a draft.

    Must run before the leader's (certification) signature.

    Args:
        pdf: the unsigned draft.
        page: zero-based page for the three fields (usually the first page for the number and
            date; use the signature page for the seal — call twice is not supported, keep one).
        number_box: box of the ``Số:`` value.
        date_box: box of the issue date line.
        seal_box: box of the seal (see :func:`signing.appearance.seal_box_overlapping`).

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
        page_ref = writer.find_page_for_modification(page)[0]
        page_obj = page_ref.get_object()
        form = _acroform(writer)
        existing = {str(f.get_object().get("/T")) for f in form.get("/Fields", [])}
        if {NUMBER_FIELD, DATE_FIELD, SEAL_FIELD} & existing:
            raise SigningError("issuing fields already present")
        annots = page_obj.get("/Annots", generic.ArrayObject())
        for name, box in ((NUMBER_FIELD, number_box), (DATE_FIELD, date_box)):
            field = generic.DictionaryObject(
                {
                    pdf_name("/FT"): pdf_name("/Tx"),
                    pdf_name("/T"): pdf_string(name),
                    pdf_name("/Type"): pdf_name("/Annot"),
                    pdf_name("/Subtype"): pdf_name("/Widget"),
                    pdf_name("/Rect"): _rect(box),
                    pdf_name("/F"): generic.NumberObject(4),
                    pdf_name("/P"): page_ref,
                    pdf_name("/DA"): pdf_string("/Helv 11 Tf 0 g"),
                }
            )
            ref = writer.add_object(field)
            annots.append(ref)
            form["/Fields"].append(ref)
        page_obj[pdf_name("/Annots")] = annots
        writer.update_container(page_obj)
        writer.update_container(form)
        # The seal locks the number and date (FieldMDP): a re-fill after issuance makes the
        # seal's modification check fail, while the leader's certification (FILL_FORMS) still
        # allows the clerk's one filling before the seal.
        fields.append_signature_field(
            writer,
            SigFieldSpec(
                SEAL_FIELD,
                on_page=page,
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
    writer: IncrementalPdfFileWriter, text: str, rect: Sequence[float], font_path: str
) -> generic.IndirectObject:
    width, height = float(rect[2]) - float(rect[0]), float(rect[3]) - float(rect[1])
    fit = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MIN,
        y_align=layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins.uniform(1),
    )
    style = text_style(font_path, 11, (0.0, 0.0, 0.0), fit)
    box = TextBox(style, writer, box=layout.BoxConstraints(width=width, height=height))
    box.content = text
    return writer.add_object(box.as_form_xobject())


def _fill(writer: IncrementalPdfFileWriter, values: dict[str, str], font_path: str) -> None:
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
        field[pdf_name("/V")] = pdf_string(values[name])
        ap = _appearance(writer, values[name], list(field["/Rect"]), font_path)
        field[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): ap})
        writer.update_container(field)


def fill_issuing_fields(
    *, pdf: bytes, number: str, issue_date: str, font_path: str = DEFAULT_FONT
) -> bytes:
    """Fill the number and issue-date fields (after the leader signed), as a new revision.

    Each widget gets ``/V`` and an ``/AP /N`` appearance set in the embedded Noto font, so the
    change is plain form filling and the leader's certification signature stays valid.
    Issuance fills them in the seal's own revision instead (``prepare_seal_signature(number=…,
    issue_date=…)``); this separate revision is for documents issued without a seal.

    Args:
        pdf: the document signed by the leader.
        number: number and symbol, e.g. ``"123/QĐ-UBND"``.
        issue_date: the issue date as displayed, e.g. ``"Hà Nội, ngày 26 tháng 11 năm 2026"``.
        font_path: OpenType font for the appearance.

    Returns:
        The updated document.

    Raises:
        BadPdfError: for unusable input.
        SigningError: if the fields are missing.
    """
    writer = open_writer(pdf)
    with pdf_errors():
        _fill(writer, {NUMBER_FIELD: number, DATE_FIELD: issue_date}, font_path)
        out = io.BytesIO()
        writer.write(out)
    return out.getvalue()


async def prepare_seal_signature(
    *,
    pdf: bytes,
    seal_cert: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    seal_image: bytes,
    agency_name: str,
    level: PadesLevel = PadesLevel.B_LT,
    number: str | None = None,
    issue_date: str | None = None,
    font_path: str = DEFAULT_FONT,
) -> PreparedSignature:
    """Phase 1 of the agency seal signature in the existing seal field.

    The seal field locks the number and date (FieldMDP). Given ``number`` and ``issue_date``,
    they are filled in the seal's own revision, so the seal covers exactly the revision that
    set them. (pyHanko 0.38's lock analysis also needs this: it flags the appearance stream of
    a locked field last changed *before* the locking signature's revision as "updated" on every
    later revision, so a DSS or archival timestamp after the seal would rate it OTHER.)

    Args:
        pdf: the document signed by the leader (or with number and date already filled).
        seal_cert: the agency's certificate.
        chain: intermediate certificates.
        seal_image: red seal PNG.
        agency_name: shown with the signing time under the seal.
        level: PAdES level.
        number: number and symbol to fill, e.g. ``"123/QĐ-UBND"``.
        issue_date: the place-and-date line to fill.
        font_path: OpenType font for the filled values.

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
    appearance = AgencySealAppearance(
        seal_image=seal_image, agency_name=agency_name, page=0, box=(0, 0, 1, 1)
    )
    values = {NUMBER_FIELD: number, DATE_FIELD: issue_date} if number and issue_date else None
    if (number is None) != (issue_date is None):
        raise SigningError("number and issue date are filled together")
    return await prepare_signature(
        pdf=pdf,
        signer_cert=seal_cert,
        chain=chain,
        appearance=appearance,
        level=level,
        field_name=SEAL_FIELD,
        edit=(lambda writer: _fill(writer, values, font_path)) if values else None,
    )
