from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection, text

from backend.core import db, migrate
from backend.migrations.schema import include_object, metadata

pytestmark = pytest.mark.anyio


async def test_database_is_at_head_and_matches_the_models(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        assert await migrate.current_revision(engine) == migrate.head_revision()

        def diff(connection: Connection) -> list[object]:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            return list(compare_metadata(context, metadata))

        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await migrate.downgrade(engine, "base")
        assert await migrate.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            fks = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        assert mode == "wal"
        assert fks == 1
    finally:
        await engine.dispose()


def _copy_of_migrations(tmp_path: Path) -> Path:
    """The migrations directory, copied: `revision` writes into it."""
    directory = tmp_path / "migrations"
    shutil.copytree(
        migrate.MIGRATIONS, directory, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return directory


async def test_db_revision_autogenerates_the_next_numbered_migration(
    database_url: str, tmp_path: Path
) -> None:
    directory = _copy_of_migrations(tmp_path)
    head = migrate.head_revision()
    assert head is not None
    engine = db.create_engine(database_url)
    try:
        # The database lacks an index the code declares: the new migration must create it.
        async with engine.begin() as connection:
            await connection.execute(text("DROP INDEX ix_signing_transactions_status"))
        path = await migrate.revision(engine, "restore status index", directory=directory)
    finally:
        await engine.dispose()
    expected = f"{int(head) + 1:04d}"
    assert path == directory / "versions" / f"{expected}_restore_status_index.py"
    source = path.read_text()
    assert re.search(rf"^revision[^=]*= ['\"]{expected}['\"]", source, re.M), source
    assert re.search(rf"^down_revision[^=]*= ['\"]{head}['\"]", source, re.M), source
    assert "create_index('ix_signing_transactions_status'" in source or (
        'create_index("ix_signing_transactions_status"' in source
    ), source
    assert not list((migrate.MIGRATIONS / "versions").glob(f"{expected}_*"))


async def test_db_revision_refuses_a_database_behind_head(
    database_url: str, tmp_path: Path
) -> None:
    directory = _copy_of_migrations(tmp_path)
    engine = db.create_engine(database_url)
    try:
        await migrate.downgrade(engine, "-1")
        with pytest.raises(CommandError, match="not up to date"):
            await migrate.revision(engine, "anything", directory=directory)
    finally:
        await engine.dispose()
    assert list((directory / "versions").glob("*anything*")) == []
