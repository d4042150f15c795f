"""SQLite write cost per object version, by the kind of unique index on the ids.

The ingest path's database work, without the server: for each 1,000-object batch
of the TAXII benchmark's corpus, look up the stored versions of its ids, insert
the rows with ``executemany``, commit, and every 20,000 objects run a passive WAL
checkpoint (what the server's housekeeping does about once a second at that
rate).  The table and its date indexes are those of ``stix_objects``; only the
unique index differs:

``text``  (collection, id text, version text): the schema before migration 0005;
``hash``  (collection, 64-bit id hash, 64-bit version hash): migration 0005.

Prints microseconds per object for each step, per 100,000 objects stored, so
that the cost can be read as the table grows.  Run from the project root::

    .venv/bin/python bench/bench_sqlite_index.py --objects 1000000
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

from objects import generate

_SRC = Path(__file__).resolve().parent.parent / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from telsec.storage.models import hash64  # noqa: E402

BATCH = 1000
CHECKPOINT_EVERY = 20_000
REPORT_EVERY = 100_000

_COLUMNS = (
    "collection_pk, stix_id, stix_type, version, spec_version, date_added_us, is_latest, "
    "is_first, below_red, maybe_last, revoked, tlp, producer_org_id, created_by_ref, body, "
    "id_hash, version_hash"
)
_SCHEMA = """
CREATE TABLE stix_objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, collection_pk INTEGER NOT NULL,
    stix_id VARCHAR(300) NOT NULL, stix_type VARCHAR(250) NOT NULL,
    version VARCHAR(32) NOT NULL, spec_version VARCHAR(8) NOT NULL,
    date_added_us BIGINT NOT NULL, is_latest BOOLEAN NOT NULL, is_first BOOLEAN NOT NULL,
    below_red BOOLEAN NOT NULL, maybe_last BOOLEAN NOT NULL, revoked BOOLEAN NOT NULL,
    tlp INTEGER, producer_org_id INTEGER NOT NULL, created_by_ref VARCHAR(300),
    body TEXT NOT NULL, id_hash BIGINT NOT NULL, version_hash BIGINT NOT NULL);
CREATE INDEX ix_added ON stix_objects (collection_pk, date_added_us);
CREATE INDEX ix_latest ON stix_objects (collection_pk, maybe_last, date_added_us);
CREATE INDEX ix_type ON stix_objects (collection_pk, stix_type, maybe_last, date_added_us);
"""
_UNIQUE = {
    "text": "CREATE UNIQUE INDEX uq ON stix_objects (collection_pk, stix_id, version)",
    "hash": "CREATE UNIQUE INDEX uq ON stix_objects (collection_pk, id_hash, version_hash)",
}
_LOOKUP = {
    "text": "SELECT stix_id, seq FROM stix_objects WHERE collection_pk = 1 "
    "AND stix_id IN (SELECT value FROM json_each(?))",
    "hash": "SELECT stix_id, seq FROM stix_objects WHERE collection_pk = 1 "
    "AND id_hash IN (SELECT value FROM json_each(?))",
}


def run(kind: str, objects: int, seed: int, directory: Path) -> None:
    path = directory / f"{kind}.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "page_size=16384",
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "cache_size=-65536",
        "wal_autocheckpoint=0",
    ):
        db.execute(f"PRAGMA {pragma}")
    db.executescript(_SCHEMA)
    db.execute(_UNIQUE[kind])
    insert = f"INSERT INTO stix_objects ({_COLUMNS}) VALUES ({', '.join('?' * 17)})"
    spent = dict.fromkeys(("lookup", "insert", "commit", "checkpoint"), 0.0)
    batch: list[tuple[object, ...]] = []
    stored = 0
    for added, obj in enumerate(generate(objects, seed=seed)):
        version = obj.get("modified", obj.get("created", ""))
        row = (1, obj["id"], obj["type"], version, "2.1", added, 1, 1, 0, 1, 0, 1, 1, None)
        batch.append((*row, orjson.dumps(obj).decode(), hash64(obj["id"]), hash64(version)))
        if len(batch) < BATCH:
            continue
        keys = [r[1] for r in batch] if kind == "text" else [r[15] for r in batch]
        t0 = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute(_LOOKUP[kind], (orjson.dumps(keys).decode(),)).fetchall()
        t1 = time.perf_counter()
        db.executemany(insert, batch)
        t2 = time.perf_counter()
        db.execute("COMMIT")
        t3 = time.perf_counter()
        spent["lookup"] += t1 - t0
        spent["insert"] += t2 - t1
        spent["commit"] += t3 - t2
        stored += len(batch)
        batch = []
        if stored % CHECKPOINT_EVERY == 0:
            t4 = time.perf_counter()
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            spent["checkpoint"] += time.perf_counter() - t4
        if stored % REPORT_EVERY == 0:
            per = {k: v / REPORT_EVERY * 1e6 for k, v in spent.items()}
            steps = "  ".join(f"{k} {v:5.1f}" for k, v in per.items())
            print(
                f"{kind:4}  {stored:>9,} stored  {steps}  total {sum(per.values()):5.1f} µs/object",
                flush=True,
            )
            spent = dict.fromkeys(spent, 0.0)
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20251123)
    parser.add_argument("--kinds", default="text,hash")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-index-") as tmp:
        for kind in args.kinds.split(","):
            run(kind, args.objects, args.seed, Path(tmp))
            for leftover in Path(tmp).iterdir():
                leftover.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
