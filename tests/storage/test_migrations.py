"""The migrations produce exactly the schema the models describe, on both back-ends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from telsec.storage.db import alembic_config, current_revision, upgrade
from telsec.storage.models import Base, include_object


def test_models_and_migrations_agree(database) -> None:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_is_idempotent_and_reaches_head(database) -> None:
    upgrade(database.engine)
    assert current_revision(database.engine) == "0006"


def test_postgres_keeps_no_statistics_on_bodies(database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL column setting")
    with database.engine.connect() as conn:
        targets = conn.execute(
            text(
                "SELECT a.attname, a.attstattarget FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relname = 'stix_objects' "
                "AND a.attname IN ('body', 'body_json')"
            )
        ).all()
    assert sorted(map(tuple, targets)) == [("body", 0), ("body_json", 0)]


def test_downgrade_removes_everything_and_upgrade_restores_it(database) -> None:
    from alembic import command

    command.downgrade(alembic_config(database.engine), "base")
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    upgrade(database.engine)
    assert "stix_objects" in inspect(database.engine).get_table_names()


def test_clock_rows_exist(database) -> None:
    with database.engine.connect() as conn:
        rows = conn.execute(text("SELECT id FROM clock ORDER BY id")).scalars().all()
    assert rows == [1, 2]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_database_refuses_to_change_the_audit_log(database, statement) -> None:
    from telsec.members import audit
    from telsec.storage.db import write_transaction

    with write_transaction(database.engine) as conn:
        audit.append(
            conn,
            [
                audit.NewEntry(
                    org_id=None,
                    actor="test",
                    action="read",
                    api_root=None,
                    collection_id=None,
                    tlp=None,
                    objects=[("indicator--x", "v")],
                )
            ],
        )
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text(statement))


def test_sqlite_runs_in_wal_mode(sqlite_database) -> None:
    with sqlite_database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_housekeeper_restarts_and_checkpoints_the_wal(sqlite_database) -> None:
    import threading
    import time

    from sqlalchemy import event

    from telsec.storage.db import Housekeeper

    engine = sqlite_database.engine
    seen: list[str] = []

    def spy(_conn, _cursor, statement, *_args) -> None:
        if "wal_checkpoint" in statement:
            seen.append(threading.current_thread().name)

    event.listen(engine, "before_cursor_execute", spy)
    checkpointer = Housekeeper(engine, interval=0.05)
    checkpointer.start()
    checkpointer.stop()
    checkpointer.start()  # an application may run its lifespan twice
    try:
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen and set(seen) == {"db-housekeeping"}
    finally:
        checkpointer.stop()
        event.remove(engine, "before_cursor_execute", spy)


def test_housekeeper_analyses_a_bulk_loaded_postgres_table(database) -> None:
    """Without statistics the planner scans a whole collection to find 500 ids."""
    import time

    from telsec.storage.db import ANALYZE_MIN_CHANGES, Housekeeper

    if database.engine.dialect.name != "postgresql":
        pytest.skip("statistics upkeep is PostgreSQL's")
    engine = database.engine
    rows = ANALYZE_MIN_CHANGES + 1_000
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO settings (key, value) "
            f"SELECT 'bulk-' || g, 'x' FROM generate_series(1, {rows}) AS g"
        )

    def last_analyze() -> object:
        with engine.connect() as conn:
            return conn.execute(
                text(
                    "SELECT last_analyze FROM pg_stat_user_tables "
                    "WHERE schemaname = current_schema() AND relname = 'settings'"
                )
            ).scalar()

    assert last_analyze() is None
    housekeeper = Housekeeper(engine)
    done: list[str] = []
    deadline = time.monotonic() + 10  # the server publishes row counts within a second or so
    while "analyze settings" not in done and time.monotonic() < deadline:
        done += housekeeper.run_once()
        time.sleep(0.2)
    assert "analyze settings" in done
    assert last_analyze() is not None
    assert "analyze settings" not in housekeeper.run_once()  # fresh statistics: left alone
