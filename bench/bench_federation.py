"""Federation: 100k objects replicated across five nodes, and the lag under load.

Not a test: prints a table and writes JSON to bench/results/.  From the
repository root:

    .venv/bin/python bench/bench_federation.py                   # 100,000 objects
    .venv/bin/python bench/bench_federation.py --objects 20000 --load-seconds 20

Five real ``telsec serve`` processes (UK, US, Canada, Australia, New Zealand),
each on its own SQLite database, every node pulling every other's
``coalition`` collection (a full mesh) with its sync loop (``--sync-interval``).
Two measurements:

1. **replication**: ``--objects`` TLP:GREEN indicators are POSTed to the UK
   node in envelopes of 5,000; the clock runs from the first POST until all
   five nodes hold every object;
2. **lag under steady load**: for ``--load-seconds`` each node in turn gets a
   POST of 10 objects every 100 ms (100 objects/s across the federation);
   an object's lag at a node is its ``date_added`` there minus its
   ``date_added`` at its origin (one machine, one clock), read from the
   databases afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.federation.cluster import Node, pair

from telsec.stix.tlp import Tlp
from telsec.storage.models import Collection, StixObject

NAMES = ["uk", "us", "ca", "au", "nz"]
RESULTS = Path(__file__).with_name("results")


def indicator(n: int, origin: str) -> dict[str, Any]:
    created = "2026-11-23T09:00:00.000Z"
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": created,
        "modified": created,
        "name": f"Global Title {44770090000 + n} sending SRI-for-SM from outside its network",
        "description": f"Seen by {origin}: category 1 MAP traffic from a leased Global Title.",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[x-telsec-global-title:digits = '{44770090000 + n}']",
        "pattern_type": "stix",
        "valid_from": created,
        "object_marking_refs": [Tlp.GREEN.marking_id],
    }


def added(node: Node) -> dict[str, int]:
    with node.db.engine.connect() as conn:
        pk = conn.execute(select(Collection.id).where(Collection.alias == "coalition")).scalar_one()
        return dict(
            conn.execute(
                select(StixObject.stix_id, StixObject.date_added_us).where(
                    StixObject.collection_pk == pk
                )
            ).all()
        )


def count(node: Node) -> int:
    with node.db.engine.connect() as conn:
        pk = conn.execute(select(Collection.id).where(Collection.alias == "coalition")).scalar_one()
        from sqlalchemy import func

        return int(
            conn.execute(
                select(func.count()).select_from(StixObject).where(StixObject.collection_pk == pk)
            ).scalar_one()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--sync-interval", type=float, default=1.0)
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="telsec-federation-"))
    nodes = {n: Node(n, directory / n, sync_interval=args.sync_interval).create() for n in NAMES}
    result: dict[str, Any] = {
        "benchmark": "federation",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "objects": args.objects,
        "sync_interval_s": args.sync_interval,
        "topology": "full mesh of 5",
    }
    try:
        for a, b in itertools.combinations(NAMES, 2):
            pair(nodes[a], nodes[b])
        for node in nodes.values():
            node.start()
        print(f"5 nodes up in {directory}", file=sys.stderr)

        # 1. replication of a bulk load
        batch = [indicator(n, "uk") for n in range(args.objects)]
        start = time.perf_counter()
        for offset in range(0, len(batch), 5000):
            nodes["uk"].post(batch[offset : offset + 5000])
        posted = time.perf_counter() - start
        arrived: dict[str, float] = {"uk": posted}
        while len(arrived) < len(nodes):
            for name, node in nodes.items():
                if name not in arrived and count(node) >= args.objects:
                    arrived[name] = time.perf_counter() - start
            time.sleep(0.2)
            if time.perf_counter() - start > 900:
                raise SystemExit(f"not replicated after 900 s: {arrived}")
        result["post_s"] = round(posted, 2)
        result["replicated_s"] = {k: round(v, 2) for k, v in arrived.items()}
        result["replicated_everywhere_s"] = round(max(arrived.values()), 2)
        print(f"replicated everywhere in {max(arrived.values()):.1f} s", file=sys.stderr)

        # 2. lag under steady load
        origin_of: dict[str, str] = {}
        start = time.perf_counter()
        tick = 0
        while time.perf_counter() - start < args.load_seconds:
            name = NAMES[tick % len(NAMES)]
            objects = [indicator(tick * 10 + k, name) for k in range(10)]
            nodes[name].post(objects)
            origin_of.update({o["id"]: name for o in objects})
            tick += 1
            time.sleep(max(0.0, start + tick * 0.1 - time.perf_counter()))
        time.sleep(args.sync_interval * 4 + 5)
        stamps = {name: added(node) for name, node in nodes.items()}
        lags = []
        missing = 0
        for oid, origin in origin_of.items():
            for name in NAMES:
                if name == origin:
                    continue
                if oid not in stamps[name]:
                    missing += 1
                    continue
                lags.append((stamps[name][oid] - stamps[origin][oid]) / 1e6)
        values = np.array(lags)
        result["load"] = {
            "seconds": args.load_seconds,
            "objects": len(origin_of),
            "deliveries": len(lags),
            "missing": missing,
            "lag_p50_s": round(float(np.percentile(values, 50)), 3),
            "lag_p95_s": round(float(np.percentile(values, 95)), 3),
            "lag_p99_s": round(float(np.percentile(values, 99)), 3),
            "lag_max_s": round(float(values.max()), 3),
        }
    finally:
        for node in nodes.values():
            node.stop()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"federation-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
