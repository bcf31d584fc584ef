"""Two-phase (interrupted) PAdES signing: prepare → (key signs the DTBS) → finish."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import aiohttp
from asn1crypto import cms, x509
from pyhanko.pdf_utils.decode_limits import DecodeLimits
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.appearance import (
    Appearance,
    AttachmentStampAppearance,
    attachment_box,
    build_style,
    int_box,
    media_box,
    page_rotation,
)
from signing.errors import SigningError, TimestampUnavailableError
from signing.keys import KeyProvider
from signing.ltv import add_archival_timestamp, add_validation_data
from signing.pdfinput import open_writer, pdf_errors
from signing.services import SigningServices
from signing.signature_values import control_code, normalise_and_verify
from signing.state import PadesLevel, SignatureState
from signing.textpos import PageGeometry, to_user

__all__ = ["PreparedSignature", "finish_signature", "prepare_signature", "sign_pdf"]

DEFAULT_BYTES_RESERVED = 32 * 1024


@dataclass(frozen=True)
class PreparedSignature:
    """Result of phase 1.

    Attributes:
        state: opaque bytes to store (SQL) and pass to :func:`finish_signature`.
        dtbs: the data to be signed: DER of the CMS signed attributes.
        dtbs_hash: hash of ``dtbs`` with ``md_algorithm`` — what the key actually signs; bind
            confirmations (WebAuthn challenge, MSS request) to this.
        control_code: 4-digit code derived from ``dtbs_hash`` to show on both screens.
        md_algorithm: digest algorithm name.
        field_name: the signature field being filled.
        level: the PAdES level :func:`finish_signature` will produce.
    """

    state: bytes
    dtbs: bytes
    dtbs_hash: bytes
    control_code: str
    md_algorithm: str
    field_name: str
    level: PadesLevel


def _common_name(cert: x509.Certificate) -> str:
    name = cert.subject.native.get("common_name", "")
    return str(name[0] if isinstance(name, list) else name)


def _new_field_spec(
    field_name: str, appearance: Appearance | None, writer: IncrementalPdfFileWriter
) -> SigFieldSpec:
    if appearance is None:
        return SigFieldSpec(field_name)
    if isinstance(appearance, AttachmentStampAppearance):
        page = writer.find_page_for_modification(0)[0].get_object()
        # Top right as the page shows, also on a page turned by /Rotate.
        geometry = PageGeometry(media=media_box(page), rotation=page_rotation(page))
        width, height = geometry.display_size
        box = to_user(attachment_box(appearance, (0, 0, width, height)), geometry)
        return SigFieldSpec(field_name, on_page=0, box=int_box(box))
    return SigFieldSpec(field_name, on_page=appearance.page, box=int_box(appearance.box))


def _rotation(writer: IncrementalPdfFileWriter, existing: list[Any], appearance: Appearance) -> int:
    """``/Rotate`` of the page the visible signature goes on (the stamp is drawn upright)."""
    if existing:
        widget = existing[0][2].get_object()
        page = widget.get("/P")
        return page_rotation(page.get_object()) if page is not None else 0
    index = 0 if isinstance(appearance, AttachmentStampAppearance) else appearance.page
    return page_rotation(writer.find_page_for_modification(index)[0].get_object())


def _buffer_bytes(output: IO[bytes]) -> bytes:
    output.seek(0)
    return output.read()


async def prepare_signature(
    *,
    pdf: bytes,
    signer_cert: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    appearance: Appearance | None = None,
    level: PadesLevel = PadesLevel.B_LT,
    field_name: str | None = None,
    certify: bool = False,
    reason: str | None = None,
    location: str | None = None,
    md_algorithm: str = "sha256",
    bytes_reserved: int = DEFAULT_BYTES_RESERVED,
    decode_limits: DecodeLimits | None = None,
    edit: Callable[[IncrementalPdfFileWriter], None] | None = None,
) -> PreparedSignature:
    """Phase 1: add the signature field and appearance, reserve room, compute the DTBS.

    Args:
        pdf: the document (untrusted input; parsed strictly under decode limits).
        signer_cert: the signer's certificate (needed now: it is part of the signed attributes).
        chain: intermediate (and optionally root) certificates to embed.
        appearance: Decree 30 appearance, or ``None`` for an invisible signature.
        level: PAdES level to produce in phase 2.
        field_name: signature field; an existing empty field of that name is filled (its box
            wins), otherwise a new field is created. Default: a fresh unique name.
        certify: make this a certification signature that allows only form filling and further
            signatures (``MDPPerm.FILL_FORMS``); it must be the document's first signature.
        reason: optional ``/Reason``.
        location: optional ``/Location``.
        md_algorithm: digest algorithm.
        bytes_reserved: room for the CMS (signature, certificates, timestamp token).
        decode_limits: pyHanko decode limits; default is pyHanko's limits for untrusted input.
        edit: changes written in the same revision as the signature, before it is computed
            (e.g. filling the form fields that this signature locks).

    Returns:
        A :class:`PreparedSignature`; persist ``state`` and have the key sign ``dtbs``.

    Raises:
        BadPdfError: (and subclasses) for unusable input.
        SigningError: if pyHanko refuses the operation (e.g. the field is already signed).
    """
    name = field_name or f"Sig_{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    with pdf_errors():
        writer = open_writer(pdf, decode_limits=decode_limits)
        if edit is not None:
            edit(writer)
        existing = list(fields.enumerate_sig_fields(writer, with_name=name))
        if existing and existing[0][1] is not None:
            raise SigningError(
                f"field {name!r} is already signed",
                message_vi="Ô chữ ký này đã được ký trước đó.",
            )
        spec = None if existing else _new_field_spec(name, appearance, writer)
        style, text_params = (None, None)
        if appearance is not None:
            style, text_params = build_style(
                appearance,
                signer_name=_common_name(signer_cert),
                signing_time=now,
                rotation=_rotation(writer, existing, appearance),
            )
        placeholder = signers.ExternalSigner(
            signing_cert=signer_cert,
            cert_registry=SimpleCertificateStore.from_certs(list(chain)),
            signature_value=512,
        )
        meta = signers.PdfSignatureMetadata(
            field_name=name,
            md_algorithm=md_algorithm,
            subfilter=SigSeedSubFilter.PADES,
            certify=certify,
            docmdp_permissions=MDPPerm.FILL_FORMS,
            reason=reason,
            location=location,
        )
        pdf_signer = signers.PdfSigner(
            meta, signer=placeholder, stamp_style=style, new_field_spec=spec
        )
        try:
            prep, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
                writer,
                existing_fields_only=bool(existing),
                bytes_reserved=bytes_reserved,
                appearance_text_params=text_params,
            )
        except PyHankoSigningError as exc:
            raise SigningError(f"pyHanko refused to prepare the signature: {exc}") from exc
        signed_attrs = await placeholder.signed_attrs(
            prep.document_digest, md_algorithm, use_pades=True
        )
    dtbs = signed_attrs.dump()
    dtbs_hash = hashlib.new(md_algorithm, dtbs).digest()
    state = SignatureState(
        pdf=_buffer_bytes(output),
        document_digest=prep.document_digest,
        reserved_start=prep.reserved_region_start,
        reserved_end=prep.reserved_region_end,
        signed_attrs=dtbs,
        md_algorithm=md_algorithm,
        level=level,
        field_name=name,
        signer_cert=signer_cert,
        chain=tuple(chain),
    )
    return PreparedSignature(
        state=state.encode(),
        dtbs=dtbs,
        dtbs_hash=dtbs_hash,
        control_code=control_code(dtbs_hash=dtbs_hash),
        md_algorithm=md_algorithm,
        field_name=name,
        level=level,
    )


async def signature_container(
    st: SignatureState, value: bytes, timestamper: TimeStamper | None
) -> cms.ContentInfo:
    """The CMS around a checked signature value, with the signature timestamp when asked.

    Shared by one-at-a-time and batch finishing. A failing TSA raises; the local clock is never
    used instead.
    """
    signer = signers.ExternalSigner(
        signing_cert=st.signer_cert,
        cert_registry=SimpleCertificateStore.from_certs(list(st.chain)),
        signature_value=value,
    )
    try:
        signature_cms: cms.ContentInfo = await signer.async_sign_prescribed_attributes(
            st.md_algorithm,
            signed_attrs=cms.CMSAttributes.load(st.signed_attrs),
            timestamper=timestamper,
        )
    except (TimeoutError, TimestampRequestError, aiohttp.ClientError, OSError) as exc:
        raise TimestampUnavailableError(f"timestamp authority failed: {exc!r}") from exc
    return signature_cms


async def finish_signature(
    *, state: bytes, signature_value: bytes, services: SigningServices | None = None
) -> bytes:
    """Phase 2: check the signature value, embed the CMS, add timestamp and validation data.

    Args:
        state: :attr:`PreparedSignature.state`.
        signature_value: the key's signature over the DTBS (RSA PKCS#1 v1.5, or ECDSA as DER or
            raw ``r‖s``).
        services: TSA, trust and HTTP session; required from level B-T up.

    Returns:
        The signed PDF.

    Raises:
        InvalidStateError: if ``state`` is malformed.
        SignatureMismatchError: if the value does not verify against the certificate and DTBS.
        TimestampUnavailableError: if the TSA is not configured or unreachable (never falls
            back to the local clock).
        RevocationUnavailableError: if revocation data is missing when producing B-LT/B-LTA.
        CertificateRevokedError: if a certificate in the chain is revoked.
        UntrustedCertificateError: if the chain does not lead to a configured trust root.
    """
    st = SignatureState.decode(state)
    value = normalise_and_verify(
        certificate=st.signer_cert,
        dtbs=st.signed_attrs,
        signature_value=signature_value,
        md_algorithm=st.md_algorithm,
    )
    timestamper = None
    if st.level.rank >= PadesLevel.B_T.rank:
        if services is None or services.tsa_url is None:
            raise TimestampUnavailableError(f"level {st.level} needs a timestamp authority")
        timestamper = services.timestamper()
    signature_cms = await signature_container(st, value, timestamper)
    output = io.BytesIO(st.pdf)
    try:
        PreparedByteRangeDigest(
            st.document_digest, st.reserved_start, st.reserved_end
        ).fill_with_cms(output, signature_cms)
    except (PyHankoSigningError, PdfError) as exc:
        raise SigningError(f"could not embed the signature: {exc}") from exc
    if st.level.rank >= PadesLevel.B_LT.rank:
        assert services is not None
        await add_validation_data(output, field_name=st.field_name, services=services)
    if st.level is PadesLevel.B_LTA:
        assert services is not None
        await add_archival_timestamp(output, md_algorithm=st.md_algorithm, services=services)
    return output.getvalue()


async def sign_pdf(
    *,
    pdf: bytes,
    key: KeyProvider,
    signer_cert: x509.Certificate,
    chain: Sequence[x509.Certificate] = (),
    services: SigningServices | None = None,
    appearance: Appearance | None = None,
    level: PadesLevel = PadesLevel.B_LT,
    field_name: str | None = None,
    certify: bool = False,
    reason: str | None = None,
    location: str | None = None,
    decode_limits: DecodeLimits | None = None,
) -> bytes:
    """One-shot signing with a key provider: prepare, sign the DTBS, finish.

    Args:
        pdf: the document.
        key: the signer's key (PKCS#11 token or, in development, in memory).
        signer_cert: the key's certificate.
        chain: intermediate certificates to embed.
        services: TSA/trust/HTTP session (required from B-T up).
        appearance: visible appearance or ``None``.
        level: PAdES level (default B-LT).
        field_name: signature field to fill or create.
        certify: certification signature allowing form filling only.
        reason: optional ``/Reason``.
        location: optional ``/Location``.
        decode_limits: pyHanko decode limits for reading the input.

    Returns:
        The signed PDF.

    Raises:
        SigningError: any subclass documented for :func:`prepare_signature`,
            :func:`finish_signature` and :class:`KeyProviderError`.
    """
    prepared = await prepare_signature(
        pdf=pdf,
        signer_cert=signer_cert,
        chain=chain,
        appearance=appearance,
        level=level,
        field_name=field_name,
        certify=certify,
        reason=reason,
        location=location,
        decode_limits=decode_limits,
    )
    value = await key.sign(dtbs=prepared.dtbs, md_algorithm=prepared.md_algorithm)
    return await finish_signature(state=prepared.state, signature_value=value, services=services)
