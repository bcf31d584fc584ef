"""What background signing work needs from the process that runs it.

The SIM pollers, the batch runner and the sweeper run outside any request. They are given a
`SigningContext` — the process's settings, clock, database sessions, Redis, blob store and
signing setup — rather than importing the runtime that assembles them, so that the domain does
not depend on the assembly layer. `backend.runtime.resources.Resources` provides it.
"""

from __future__ import annotations

from typing import Protocol

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.blobs import BlobStore
from backend.core.clock import Clock
from backend.core.settings import Settings
from backend.signing_flow.setup import SigningSetup


class SigningContext(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def redis(self) -> aioredis.Redis: ...

    @property
    def blobs(self) -> BlobStore: ...

    @property
    def signing(self) -> SigningSetup | None:
        """None until a PKI exists (development) or when production signing is not set up."""
        ...
