"""Every table of the app, imported in one place for migrations and metadata comparison."""

from __future__ import annotations

from typing import Any

import backend.core.jobs
import backend.documents.tables
import backend.interchange.tables
import backend.push.tables
import backend.signing_flow.tables
import backend.workflow.dashboard  # its indexes
import backend.workflow.tables  # noqa: F401
from backend.core.models import Base

metadata = Base.metadata

# Objects the migrations create that SQLAlchemy's metadata does not describe: the SQLite FTS5
# index (a virtual table with its shadow tables), and PostgreSQL's stored search columns
# (`documents.search`: the vector and word prefixes, generated; the access keys, kept by
# triggers) with their index.
UNMODELLED_PREFIXES = ("documents_fts",)
UNMODELLED_INDEXES = {
    "ix_documents_search",
    "ix_documents_search_vector",
    "ix_documents_search_keys",
}
UNMODELLED_COLUMNS = {"search_vector", "search_prefixes", "access_keys"}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "table" and name and name.startswith(UNMODELLED_PREFIXES):
        return False
    if type_ == "column" and name in UNMODELLED_COLUMNS:
        return False
    return not (type_ == "index" and name in UNMODELLED_INDEXES)
