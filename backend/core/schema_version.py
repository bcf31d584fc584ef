"""The schema revision this code runs on, and the database's, read without loading Alembic.

Every server process checks the two at start; Alembic and its migration scripts cost ~11 MB
resident, so they are loaded only by `eoffice migrate` (`backend.core.migrate`). A test holds
`HEAD` to the newest script in `backend/migrations/versions`.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD = "0019"


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision recorded in the database's `alembic_version`; None before any migration."""

    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) > 1:
            raise RuntimeError(f"alembic_version holds several heads: {sorted(rows)}")
        return rows[0] if rows else None

    async with engine.connect() as connection:
        return await connection.run_sync(read)
