"""What the exchange's background work needs from the process that runs it.

`backend.runtime.resources.Resources` provides it; the domain does not import the runtime.
"""

from __future__ import annotations

from typing import Protocol

from backend.core.blobs import BlobStore
from backend.core.jobs import Context
from backend.documents.verification import SignatureChecker
from backend.documents.workers import PdfWorkers
from backend.interchange.xmlsig import PacketSeal


class ExchangeContext(Context, Protocol):
    """A jobs context with the blob store (packets are kept there), the PDF workers (received
    attachments are checked as uploads are), the PDF signature checker (the signatures
    inside received attachments are what binds) and the seal our status packets are signed
    with (None: they go unsigned)."""

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def pdf_workers(self) -> PdfWorkers: ...

    @property
    def signature_checker(self) -> SignatureChecker: ...

    @property
    def packet_seal(self) -> PacketSeal | None: ...
