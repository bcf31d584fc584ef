"""Alembic environment. Always driven by backend.core.migrate with a live connection."""

from __future__ import annotations

from alembic import context

from backend.migrations.schema import include_object, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `eoffice migrate`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
