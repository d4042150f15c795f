"""Shared fixtures: a node's database on SQLite and on PostgreSQL, members, tokens.

PostgreSQL tests use the server at ``TELSEC_TEST_POSTGRES_URL`` (default: the
local server, user postgres, database test).  Each test gets its own schema.
When ``CI=true`` an unreachable server is a failure, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from telsec.config import Settings, load_settings
from telsec.exchange.bootstrap import prepare
from telsec.members import service
from telsec.stix.tlp import Tlp
from telsec.storage.db import make_engine

POSTGRES_URL = os.environ.get(
    "TELSEC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"

_pg_state: dict[str, Any] = {}


def postgres_available() -> str | None:
    """None when the server answers, else the reason it does not."""
    if "reason" not in _pg_state:
        try:
            engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 5})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # any failure to connect
            _pg_state["reason"] = f"PostgreSQL at {POSTGRES_URL} unreachable: {exc}"
    return _pg_state["reason"]  # type: ignore[no-any-return]


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@dataclass
class Database:
    """A fresh, migrated node database."""

    backend: str
    settings: Settings
    engine: Engine
    cleanup: list[Any] = field(default_factory=list)


def _postgres_database(tmp_path: Path) -> Database:
    require_postgres()
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    settings = load_settings(database_url=POSTGRES_URL, data_dir=tmp_path, database_schema=schema)
    engine = make_engine(settings, pool_size=4)

    def drop() -> None:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return Database("postgres", settings, engine, [drop])


def _sqlite_database(tmp_path: Path) -> Database:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'telsec.db'}", data_dir=tmp_path)
    engine = make_engine(settings, pool_size=4)
    return Database("sqlite", settings, engine, [engine.dispose])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each back-end."""
    db = _postgres_database(tmp_path) if request.param == "postgres" else _sqlite_database(tmp_path)
    prepare(db.engine)
    try:
        yield db
    finally:
        for step in reversed(db.cleanup):
            step()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database only (for tests that need just one back-end)."""
    db = _sqlite_database(tmp_path)
    prepare(db.engine)
    try:
        yield db
    finally:
        for step in reversed(db.cleanup):
            step()


@dataclass
class Coalition:
    """Five organisations, two API roots and tokens, ready for API tests.

    - ``coalition`` root, collection ``shared`` (alias): Ofcom, FCC, ISED read and
      write; ACMA reads only; default TLP:GREEN.
    - ``coalition`` root, collection ``amber-default``: Ofcom and FCC read and
      write; default TLP:AMBER.
    - ``uk`` root, collection ``uk-reports``: Ofcom and Albion read and write;
      default TLP:RED.  NCSC-NZ has no grant anywhere.
    """

    database: Database
    collections: dict[str, service.CollectionInfo]
    tokens: dict[str, str]  # "<org>:<role>" -> token
    orgs: dict[str, service.OrgInfo]

    def token(self, org: str, role: str = "contributor") -> str:
        key = f"{org}:{role}"
        if key not in self.tokens:
            self.tokens[key], _ = service.issue_token(self.database.engine, org, role)
        return self.tokens[key]


def build_coalition(db: Database) -> Coalition:
    engine = db.engine
    orgs = {}
    for name, country in [
        ("Ofcom", "GB"),
        ("FCC", "US"),
        ("ISED", "CA"),
        ("ACMA", "AU"),
        ("NCSC-NZ", "NZ"),
        ("Albion", "GB"),
    ]:
        orgs[name] = service.add_organisation(engine, name, country)
    collections = {
        "shared": service.add_collection(
            engine,
            "coalition",
            "Shared signalling threats",
            read=["Ofcom", "FCC", "ISED", "ACMA"],
            write=["Ofcom", "FCC", "ISED"],
            default_tlp=Tlp.GREEN,
            alias="shared",
        ),
        "amber-default": service.add_collection(
            engine,
            "coalition",
            "Amber by default",
            read=["Ofcom", "FCC"],
            write=["Ofcom", "FCC"],
            default_tlp=Tlp.AMBER,
            alias="amber-default",
        ),
        "uk-reports": service.add_collection(
            engine,
            "uk",
            "UK reports",
            read=["Ofcom", "Albion"],
            write=["Ofcom", "Albion"],
            default_tlp=Tlp.RED,
            alias="uk-reports",
        ),
    }
    from telsec.exchange.bootstrap import ensure_vocabulary

    ensure_vocabulary(engine)
    return Coalition(db, collections, {}, orgs)


@pytest.fixture
def coalition(database: Database) -> Coalition:
    return build_coalition(database)
