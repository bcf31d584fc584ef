"""Serialisable state between :func:`prepare_signature` and :func:`finish_signature`.

``PostSignInstructions`` does not pickle, so only plain data is kept: the PDF with its placeholder,
the byte-range digest and reserved region, the DER signed attributes and the certificates. The
encoding is a short magic, a JSON header, and the raw PDF bytes (no base64 bloat for big PDFs).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import struct
from dataclasses import dataclass

from asn1crypto import x509

from signing.errors import InvalidStateError

__all__ = ["PadesLevel", "SignatureState"]

_MAGIC = b"EOSIG\x01"


class PadesLevel(enum.StrEnum):
    """PAdES baseline levels."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def rank(self) -> int:
        """Order of the levels: B-B < B-T < B-LT < B-LTA."""
        return list(PadesLevel).index(self)


@dataclass(frozen=True)
class SignatureState:
    """Everything phase 2 needs (internal; callers see only ``bytes``)."""

    pdf: bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attrs: bytes
    md_algorithm: str
    level: PadesLevel
    field_name: str
    signer_cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    def encode(self) -> bytes:
        """Serialise to bytes."""

        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        header = {
            "digest": b64(self.document_digest),
            "start": self.reserved_start,
            "end": self.reserved_end,
            "signed_attrs": b64(self.signed_attrs),
            "md": self.md_algorithm,
            "level": self.level.value,
            "field": self.field_name,
            "cert": b64(self.signer_cert.dump()),
            "chain": [b64(c.dump()) for c in self.chain],
            "pdf_sha256": hashlib.sha256(self.pdf).hexdigest(),
        }
        raw = json.dumps(header, separators=(",", ":")).encode()
        return _MAGIC + struct.pack(">I", len(raw)) + raw + self.pdf

    @classmethod
    def decode(cls, data: bytes) -> SignatureState:
        """Parse bytes produced by :meth:`encode`.

        Raises:
            InvalidStateError: if the data is malformed or the PDF part is damaged.
        """
        try:
            if not data.startswith(_MAGIC):
                raise ValueError("bad magic")
            offset = len(_MAGIC)
            (length,) = struct.unpack(">I", data[offset : offset + 4])
            header = json.loads(data[offset + 4 : offset + 4 + length])
            pdf = data[offset + 4 + length :]
            if hashlib.sha256(pdf).hexdigest() != header["pdf_sha256"]:
                raise ValueError("PDF part damaged")
            state = cls(
                pdf=pdf,
                document_digest=base64.b64decode(header["digest"]),
                reserved_start=int(header["start"]),
                reserved_end=int(header["end"]),
                signed_attrs=base64.b64decode(header["signed_attrs"]),
                md_algorithm=str(header["md"]),
                level=PadesLevel(header["level"]),
                field_name=str(header["field"]),
                signer_cert=x509.Certificate.load(base64.b64decode(header["cert"])),
                chain=tuple(x509.Certificate.load(base64.b64decode(c)) for c in header["chain"]),
            )
            if not 0 < state.reserved_start < state.reserved_end <= len(pdf):
                raise ValueError("reserved region out of range")
            return state
        except (ValueError, KeyError, TypeError, struct.error) as exc:
            raise InvalidStateError(f"invalid signing state: {exc}") from exc
