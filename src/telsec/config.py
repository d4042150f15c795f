"""Node settings, read from the environment.

``TELSEC_DATA_DIR``      where the embedded SQLite database lives (default ``./data``)
``TELSEC_DATABASE_URL``  a SQLAlchemy URL; PostgreSQL as ``postgresql+psycopg://...``
``TELSEC_DATABASE_SCHEMA`` optional PostgreSQL schema to keep telsec's tables in
``TELSEC_SECRET_KEY``    optional; otherwise a signing key is generated once and kept
                         in the database so that every worker and replica shares it
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where the node keeps its state."""

    data_dir: Path
    database_url: str
    database_schema: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(
    database_url: str | None = None,
    data_dir: str | Path | None = None,
    database_schema: str | None = None,
) -> Settings:
    """Settings from arguments, falling back to the environment and defaults."""
    directory = Path(data_dir or os.environ.get("TELSEC_DATA_DIR") or "data").resolve()
    url = database_url or os.environ.get("TELSEC_DATABASE_URL")
    if not url:
        url = f"sqlite:///{directory / 'telsec.db'}"
    elif url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver telsec ships with.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    schema = database_schema or os.environ.get("TELSEC_DATABASE_SCHEMA") or None
    if schema is not None and not schema.replace("_", "").isalnum():
        raise ValueError(f"TELSEC_DATABASE_SCHEMA must be letters, digits and _: {schema!r}")
    return Settings(data_dir=directory, database_url=url, database_schema=schema)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity: a container's or
    ``taskset``'s limit, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
