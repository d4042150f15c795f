"""Helpers shared by the interop and CLI tests.

- :func:`make_database`: a migrated node database (SQLite or a fresh PostgreSQL
  schema) that outlives one test, for module-scoped fixtures;
- :func:`start_hub`: a real ``telsec serve`` process on such a database, waited
  for until it answers, stopped by :meth:`Hub.stop`;
- small builders for valid STIX 2.1 objects with TLP 2.0 markings.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from telsec.config import load_settings
from telsec.exchange.bootstrap import prepare
from telsec.stix.ids import RED_RECIPIENTS_EXTENSION_ID
from telsec.stix.tlp import Tlp
from telsec.storage.db import make_engine
from tests.conftest import POSTGRES_URL, Database, require_postgres

TAXII = "application/taxii+json;version=2.1"
SECRET_KEY = "interop-test-signing-key"


# ----------------------------------------------------------------- databases


def make_database(backend: str, directory: Path) -> Database:
    """A migrated, empty database; call the steps in ``cleanup`` (reversed) when done."""
    if backend == "postgres":
        require_postgres()
        schema = "t_" + uuid.uuid4().hex[:16]
        admin = create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        settings = load_settings(
            database_url=POSTGRES_URL, data_dir=directory, database_schema=schema
        )
        engine = make_engine(settings, pool_size=4)

        def drop() -> None:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()

        db = Database("postgres", settings, engine, [drop])
    else:
        settings = load_settings(
            database_url=f"sqlite:///{directory / 'telsec.db'}", data_dir=directory
        )
        engine = make_engine(settings, pool_size=4)
        db = Database("sqlite", settings, engine, [engine.dispose])
    try:
        prepare(db.engine)
    except BaseException:
        close_database(db)
        raise
    return db


def close_database(db: Database) -> None:
    for step in reversed(db.cleanup):
        step()


def cli_env(db: Database, **extra: str) -> dict[str, str]:
    """The environment a ``telsec`` process needs to use ``db`` (and nothing else)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELSEC_")}
    env["TELSEC_DATA_DIR"] = str(db.settings.data_dir)
    env["TELSEC_DATABASE_URL"] = db.settings.database_url
    if db.settings.database_schema:
        env["TELSEC_DATABASE_SCHEMA"] = db.settings.database_schema
    env["TELSEC_SECRET_KEY"] = SECRET_KEY
    env.update(extra)
    return env


# -------------------------------------------------------------- the server


def _ephemeral_low() -> int:
    """Where the kernel's ephemeral ports start (outgoing connections and binds to
    port 0 take theirs from there up)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_PORTS_FROM = 20000
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback TCP port that nothing listens on and that nothing else in the
    test run will take before the test's server binds it: below the kernel's
    ephemeral range (a port from a bind to port 0 could be taken by any
    outgoing connection in the meantime: a five-node cluster's node, whose
    port its peers are told before it starts, once found its port taken), in
    this pytest-xdist worker's own share of that range, and never handed out
    twice by one process."""
    top = min(_ephemeral_low(), 32768)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    share = (top - _PORTS_FROM) // workers
    if share < 100:  # an unusual ephemeral range: let the kernel choose
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    low = _PORTS_FROM + (int(worker) % workers if worker.isdigit() else 0) * share
    for _ in range(1000):
        port = random.randrange(low, low + share)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free loopback port in {low}-{low + share}")


@dataclass
class Hub:
    """A running ``telsec serve`` process."""

    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def discovery(self) -> str:
        return self.url + "/taxii2/"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_hub(
    db: Database, log: Path, *, timeout: float = 45.0, attempts: int = 3, workers: int = 1
) -> Hub:
    """Start ``telsec serve`` on ``db`` and wait until it answers HTTP."""
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        handle = log.open("ab")
        try:
            process = subprocess.Popen(  # the CLI exactly as an operator runs it
                [
                    sys.executable,
                    "-m",
                    "telsec.cli.main",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--workers",
                    str(workers),
                ],
                env=cli_env(db),
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            handle.close()
        hub = Hub(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                response = httpx.get(hub.discovery, timeout=2.0)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if response.status_code == 401:  # up, and asking for credentials
                return hub
            time.sleep(0.1)
        hub.stop()
        last_error = hub.log_text()[-3000:]
        if "address already in use" not in last_error.lower():
            break
    raise RuntimeError(f"telsec serve did not come up:\n{last_error}")


# ------------------------------------------------------------ STIX objects


def stix_id(stix_type: str) -> str:
    return f"{stix_type}--{uuid.uuid4()}"


def marked(obj: dict[str, Any], tlp: Tlp | None, recipients: Iterable[str] = ()) -> dict[str, Any]:
    """``obj`` with a TLP 2.0 marking and, for RED, the telsec recipients extension."""
    if tlp is not None:
        obj["object_marking_refs"] = [tlp.marking_id]
    names = sorted(set(recipients))
    if names:
        obj.setdefault("extensions", {})[RED_RECIPIENTS_EXTENSION_ID] = {
            "extension_type": "property-extension",
            "recipients": names,
        }
    return obj


def attack_pattern(
    name: str,
    *,
    tlp: Tlp | None = None,
    recipients: Iterable[str] = (),
    object_id: str | None = None,
    created: str = "2025-03-01T12:00:00.000Z",
    modified: str | None = None,
) -> dict[str, Any]:
    obj = {
        "type": "attack-pattern",
        "spec_version": "2.1",
        "id": object_id or stix_id("attack-pattern"),
        "created": created,
        "modified": modified or created,
        "name": name,
        "description": "Global Title scanning from a roaming partner",
    }
    return marked(obj, tlp, recipients)


def indicator(name: str, number: int, *, tlp: Tlp | None = None) -> dict[str, Any]:
    obj = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id("indicator"),
        "created": "2025-03-02T08:30:00.000Z",
        "modified": "2025-03-02T08:30:00.000Z",
        "name": name,
        "indicator_types": ["malicious-activity"],
        "pattern": f"[domain-name:value = 'smish{number}.example.com']",
        "pattern_type": "stix",
        "valid_from": "2025-03-02T08:30:00Z",
    }
    return marked(obj, tlp)


def ids(objects: Iterable[dict[str, Any]]) -> list[str]:
    return [o["id"] for o in objects]
