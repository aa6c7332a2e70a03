"""The hand-written migrations: idempotent, concurrent-safe, and matching the models."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, inspect, text

from tests.support.databases import Database
from ussd_gateway.adapters.db import migrate
from ussd_gateway.adapters.db.engine import create_engine, default_database_url, normalise_url
from ussd_gateway.adapters.db.migrate import current_revision, head_revision, upgrade
from ussd_gateway.adapters.db.models import Base

REPO = Path(__file__).resolve().parents[2]


def schema_diff(connection: Connection, metadata: MetaData = Base.metadata) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return compare_metadata(context, metadata)


def describe(connection: Connection) -> dict[str, Any]:
    inspector = inspect(connection)
    return {
        "tables": sorted(inspector.get_table_names()),
        "columns": [
            (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns("submissions")
        ],
        "indexes": sorted(
            (i["name"], tuple(i["column_names"])) for i in inspector.get_indexes("submissions")
        ),
        "unique": sorted(
            (u["name"], tuple(u["column_names"]))
            for u in inspector.get_unique_constraints("submissions")
        ),
        "checks": sorted(c["name"] for c in inspector.get_check_constraints("submissions")),
    }


async def test_head_is_the_audit_log_migration():
    assert head_revision() == "0006"
    assert migrate.MIGRATIONS_DIR.is_dir()
    assert migrate.MIGRATIONS_DIR.is_relative_to(Path(migrate.__file__).parent)


async def test_upgrade_creates_the_schema_of_the_models(database_url: str):
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            assert await connection.run_sync(schema_diff) == []
            schema = await connection.run_sync(describe)
    finally:
        await engine.dispose()

    table = Base.metadata.tables["submissions"]
    assert [(name, nullable) for name, _, nullable in schema["columns"]] == [
        (c.name, c.nullable) for c in table.columns
    ]
    assert schema["tables"] == [
        "alembic_version",
        "audit_log",
        "delivery_attempts",
        "session_events",
        "sms_messages",
        "sms_opt_outs",
        "submissions",
    ]
    assert ("ix_submissions_status_next_attempt_at", ("status", "next_attempt_at")) in schema[
        "indexes"
    ]
    unique = {columns for _, columns in schema["unique"]} | {
        columns for name, columns in schema["indexes"] if name.startswith("uq_")
    }
    assert {("reference",), ("idempotency_key",)} <= unique
    assert schema["checks"] == sorted(
        c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint"
    )


async def test_schema_comparison_would_notice_a_difference(db: Database):
    """Guards the test above against passing vacuously."""
    changed = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["submissions"].append_column(Column("forgotten", String(10)))
    async with db.engine.connect() as connection:
        diff = await connection.run_sync(schema_diff, changed)
    assert [entry[0] for entry in diff] == ["add_column"]


async def test_upgrade_twice_is_a_no_op(db: Database):
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO submissions (reference, idempotency_key, service, backend, channel, "
                "language, data) VALUES ('ABCDEFG5', 'k', 's', 'b', 'ussd', 'en', '{}')"
            )
        )
        before = await connection.run_sync(describe)

    await upgrade(db.engine)
    await upgrade(db.engine)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(describe) == before
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        rows = (await connection.execute(text("SELECT reference FROM submissions"))).all()
    assert versions == [(head_revision(),)]
    assert rows == [("ABCDEFG5",)]


async def test_engines_upgrading_together_in_one_process_migrate_once(database_url: str):
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        async with engines[0].connect() as connection:
            versions = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
            assert await connection.run_sync(schema_diff) == []
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))
    assert versions == [(head_revision(),)]


UPGRADE_SCRIPT = """
import asyncio, sys, time
from ussd_gateway.adapters.db.engine import create_engine, default_database_url, normalise_url
from ussd_gateway.adapters.db.migrate import upgrade

async def main() -> None:
    engine = create_engine(sys.argv[1])
    try:
        await asyncio.sleep(float(sys.argv[2]) - time.time())  # all start at the same instant
        await upgrade(engine)
    finally:
        await engine.dispose()

asyncio.run(main())
"""


async def test_processes_starting_together_migrate_once(database_url: str):
    """Several gateway processes calling upgrade() on an empty database at the same moment."""
    start_at = str(time.time() + 3)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            UPGRADE_SCRIPT,
            database_url,
            start_at,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=60
    )
    for process, (_, stderr) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, stderr.decode()

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            versions = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
            assert await connection.run_sync(schema_diff) == []
    finally:
        await engine.dispose()
    assert versions == [(head_revision(),)]


async def test_downgrade_to_base_and_back(db: Database):
    def downgrade(connection: Connection) -> None:
        command.downgrade(migrate.alembic_config(connection), "base")

    async with db.engine.begin() as connection:
        await connection.run_sync(downgrade)
    async with db.engine.connect() as connection:
        assert await connection.run_sync(lambda c: inspect(c).get_table_names()) == [
            "alembic_version"
        ]

    await upgrade(db.engine)
    assert await current_revision(db.engine) == head_revision()


async def test_upgrade_needs_no_alembic_ini_nor_working_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("dialect_url", ["postgresql://x@localhost/x", "sqlite:///x.db"])
def test_offline_sql_can_be_generated_for_review(dialect_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", dialect_url)
    config = migrate.alembic_config()
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE submissions" in sql
    assert "CREATE INDEX ix_submissions_status_next_attempt_at" in sql


def test_developer_alembic_cli_uses_database_url(tmp_path: Path):
    database = tmp_path / "var" / "dev.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(REPO / "ussd_gateway" / "adapters" / "db" / "alembic.ini"),
            "upgrade",
            "head",
        ],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert database.exists()

    async def check() -> str | None:
        engine = create_engine(f"sqlite:///{database}")
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == head_revision()


# The engine the migrations (and the stores) run on.


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/gw", "postgresql+asyncpg://u:p@db:5432/gw"),
        ("postgres://u@db/gw", "postgresql+asyncpg://u@db/gw"),
        ("postgresql+asyncpg://u@db/gw", "postgresql+asyncpg://u@db/gw"),
        ("sqlite:///var/gateway.db", "sqlite+aiosqlite:///var/gateway.db"),
        ("sqlite:////abs/gateway.db", "sqlite+aiosqlite:////abs/gateway.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("mysql+aiomysql://u@db/gw", "mysql+aiomysql://u@db/gw"),
    ],
)
def test_normalise_url(given: str, expected: str):
    assert normalise_url(given) == expected


def test_default_database_url():
    assert default_database_url() == "sqlite+aiosqlite:///var/gateway.db"


async def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path):
    path = tmp_path / "not" / "yet" / "gateway.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1}
    assert path.exists()
