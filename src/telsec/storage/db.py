"""Engines, transactions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from telsec.config import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
log = logging.getLogger("telsec.storage")


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached or opened."""


def make_engine(settings: Settings, *, pool_size: int = 8) -> Engine:
    """An engine for the node's database.

    SQLite runs in WAL mode with foreign keys on; write transactions take the
    write lock up front (``BEGIN IMMEDIATE``) so that concurrent writers queue
    instead of failing on a lock upgrade.
    """
    url = settings.database_url
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        # the URL is not echoed: it may hold a password
        raise DatabaseUnavailable(
            "TELSEC_DATABASE_URL is not a database URL: give sqlite:///PATH or "
            "postgresql://USER@HOST/DATABASE"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUnavailable(
            f"TELSEC_DATABASE_URL names a {backend} database: telsec runs on SQLite or PostgreSQL"
        )
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql"):
        # No server-side prepared statements: PostgreSQL's generic plans for
        # them picked sequential scans for the IN-list lookups of the ingest path.
        connect_args: dict[str, Any] = {"prepare_threshold": None}
        if settings.database_schema:
            connect_args["options"] = f"-csearch_path={settings.database_schema}"
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args=connect_args,
        )
    return create_engine(url, poolclass=NullPool)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
        # transaction handling would defer it and break BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # For a new database only (an existing one keeps its page size): objects
        # are about 1 KB, and 16 KiB pages cut the server's CPU per ingested
        # object by some 4 % against 4 KiB (bench/bench_taxii.py).
        cursor.execute("PRAGMA page_size=16384")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # A backstop only: the server checkpoints in the background
        # (Housekeeper), off the request path.
        cursor.execute("PRAGMA wal_autocheckpoint=12500")  # 200 MB of 16 KiB pages
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("telsec_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class _SqliteWriterLock:
    """Serialises SQLite writers across threads and processes without polling.

    SQLite allows one writer at a time and makes the others sleep and retry in
    its busy handler; under load that wastes most of the wait.  Writers of this
    node queue instead on an advisory ``flock`` on a file beside the database
    (which every worker process shares) and, within a process, on a thread lock.
    """

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.Lock()
        self._path = database + ".write-lock"
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            # No lock file possible (read-only directory, ...): SQLite's own
            # busy handling still keeps writers correct, only slower.
            pass
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_SQLITE_WRITERS: dict[str, _SqliteWriterLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


def _writer_lock(engine: Engine) -> _SqliteWriterLock | nullcontext[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return nullcontext()
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.get(database)
        if lock is None:
            lock = _SQLITE_WRITERS[database] = _SqliteWriterLock(database)
    return lock


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it holds the write lock from the start.

    On SQLite, writers first queue on :class:`_SqliteWriterLock`.
    """
    with _writer_lock(engine), engine.connect() as conn:
        conn = conn.execution_options(telsec_write=True)
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read transaction (a consistent snapshot on both back-ends)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), revision)
    except Exception as exc:  # connection problems surface as many different types
        if _is_connection_error(exc):
            raise DatabaseUnavailable(f"cannot reach the database: {_first_line(exc)}") from exc
        raise


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _is_connection_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, OperationalError)


def ping(engine: Engine) -> None:
    """Raise :class:`DatabaseUnavailable` unless the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise DatabaseUnavailable(f"cannot reach the database: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's SQL echo and help links."""
    original = getattr(exc, "orig", None) or exc
    text_ = str(original).strip().splitlines()
    return text_[0] if text_ else exc.__class__.__name__


#: PostgreSQL: re-analyse a table once this many rows changed since its last
#: ANALYZE, or half its rows, whichever is more.
ANALYZE_MIN_CHANGES = 5_000
ANALYZE_FRACTION = 0.5

_STALE_TABLES_SQL = """
SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema()
  AND n_mod_since_analyze >= GREATEST(:floor, :fraction * n_live_tup)
"""


class Housekeeper:
    """Database upkeep in a background thread, off the request path.

    - SQLite: with automatic checkpoints, the request whose commit crosses the
      threshold copies the whole WAL into the database file and is slowed by
      it; here a PASSIVE checkpoint (which waits for no reader or writer) runs
      every ``interval`` seconds instead.
    - PostgreSQL: a table bulk-loaded faster than autovacuum analyses it (or on
      a server with autovacuum off) keeps the planner's default guesses, and
      the version lookup of every POST then scans the whole collection (seen:
      80 to 160 ms per lookup at 100,000 objects, against 2 ms with
      statistics).  Tables whose statistics are stale are analysed here.
    """

    def __init__(self, engine: Engine, interval: float = 1.0) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> Housekeeper:
        """Start the thread (once; an application may run its lifespan more than once)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="db-housekeeping", daemon=True
                )
                self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            self._thread = None

    def run_once(self) -> list[str]:
        """One round of upkeep; what was done, for logs and tests."""
        with self._engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
                return ["wal_checkpoint"]
            if conn.dialect.name == "postgresql":
                return _analyse_stale_tables(conn)
        return []

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            try:
                for action in self.run_once():
                    log.debug("housekeeping: %s", action)
            except Exception as exc:  # a busy or closed database: try again next time
                log.debug("housekeeping skipped: %s", exc.__class__.__name__)


def _analyse_stale_tables(conn: Connection) -> list[str]:
    stale = conn.execute(
        text(_STALE_TABLES_SQL), {"floor": ANALYZE_MIN_CHANGES, "fraction": ANALYZE_FRACTION}
    ).scalars()
    quote = conn.dialect.identifier_preparer.quote
    done = []
    for table in list(stale):
        conn.exec_driver_sql(f"ANALYZE {quote(table)}")
        done.append(f"analyze {table}")
    conn.commit()
    return done
