from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection, select, text

from backend import organisations
from backend.core import db, migrate, schema_version
from backend.core.clock import FixedClock
from backend.core.jobs import Job
from backend.core.models import Role
from backend.identity import users
from backend.migrations.schema import include_object, metadata
from backend.signing_flow import sim
from backend.signing_flow.tables import SigningTransaction

pytestmark = pytest.mark.anyio


async def test_database_is_at_head_and_matches_the_models(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        assert await schema_version.current_revision(engine) == migrate.head_revision()

        def diff(connection: Connection) -> list[object]:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": include_object}
            )
            return list(compare_metadata(context, metadata))

        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()


def test_the_head_server_processes_expect_is_the_newest_migration() -> None:
    # Server processes check the database against a constant, without loading Alembic.
    assert migrate.head_revision() == schema_version.HEAD


async def test_a_database_never_migrated_has_no_revision(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        assert await schema_version.current_revision(engine) is None
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await migrate.downgrade(engine, "base")
        assert await schema_version.current_revision(engine) is None
        await migrate.upgrade(engine)
        assert await schema_version.current_revision(engine) == migrate.head_revision()
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


async def test_a_sim_transaction_awaiting_at_the_upgrade_gets_its_poll_job(
    database_url: str,
) -> None:
    """0013 moves the SIM poller's lease to the jobs table: a transaction that awaits its PIN
    while the server is upgraded is polled by a job afterwards, and only such a one."""
    engine = db.create_engine(database_url)
    clock = FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    try:
        async with db.sessionmaker(engine)() as s, s.begin():
            agency = await organisations.create_agency(
                s, clock=clock, code="000.00.01.H53", name="Văn phòng UBND tỉnh", short_name="VP"
            )
            # One open transaction per signer: a signer for each.
            for n, (tx_id, method, status, mss) in enumerate(
                [
                    ("awaiting-sim", "sim", "awaiting", "mssp-1"),
                    ("prepared-sim", "sim", "prepared", ""),
                    ("awaiting-passkey", "passkey", "awaiting", ""),
                    ("done-sim", "sim", "completed", "mssp-2"),
                ]
            ):
                signer = await users.create_user(
                    s,
                    clock=clock,
                    agency=agency,
                    username=f"leader{n}",
                    full_name="Lãnh đạo",
                    roles={Role.LEADER},
                )
                s.add(
                    SigningTransaction(
                        id=tx_id,
                        agency_id=agency.id,
                        signer_id=signer.id,
                        method=method,
                        status=status,
                        dtbs_digest="0" * 64,
                        challenge="0" * 64,
                        control_code="1234",
                        mss_trans_id=mss,
                        created_at=clock.now(),
                        expires_at=clock.now(),
                        updated_at=clock.now(),
                    )
                )
        await migrate.downgrade(engine, "0012")
        async with engine.connect() as connection:
            leases = await connection.execute(
                text("SELECT lease_owner, lease_until FROM signing_transactions")
            )
            assert set(leases) == {("", None)}
        await migrate.upgrade(engine)
        async with db.sessionmaker(engine)() as s:
            made = [
                (j.kind, j.payload, j.status, j.idempotency_key)
                for j in await s.scalars(select(Job))
            ]
        assert made == [
            (
                sim.POLL_JOB,
                {"transaction": "awaiting-sim"},
                "queued",
                f"{sim.POLL_JOB}:awaiting-sim",
            ),
        ]
    finally:
        await engine.dispose()


def test_each_migration_header_says_what_it_revises() -> None:
    """The docstring header (`Revision ID`, `Revises`) and the file name agree with the code."""
    for path in sorted((migrate.MIGRATIONS / "versions").glob("[0-9]*.py")):
        source = path.read_text()
        namespace: dict[str, object] = {}
        exec(compile(source, str(path), "exec"), namespace)
        header = str(namespace["__doc__"])
        said = re.search(r"^Revision ID: (\S+)$", header, re.M)
        revises = re.search(r"^Revises:[ ]?(\S*)$", header, re.M)
        assert said and revises, path.name
        assert said.group(1) == namespace["revision"] == path.name[:4], path.name
        assert (revises.group(1) or None) == namespace["down_revision"], path.name
