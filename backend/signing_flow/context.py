"""What background signing work needs from the process that runs it.

The SIM poll, the batch panel checks, the sweep and archival renewal run as jobs, outside any
request. They are given a `SigningContext` — the process's settings, clock, database sessions,
Redis, blob store and signing setup — rather than importing the runtime that assembles them,
so that the domain does not depend on the assembly layer.
`backend.runtime.resources.Resources` provides it.
"""

from __future__ import annotations

from typing import Protocol

from backend.core.blobs import BlobStore
from backend.core.jobs import Context
from backend.signing_flow.setup import SigningSetup


class SigningContext(Context, Protocol):
    """A jobs context (settings, clock, sessions, Redis) with the blob store and signing."""

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def signing(self) -> SigningSetup | None:
        """None until a PKI exists (development) or when production signing is not set up."""
        ...
