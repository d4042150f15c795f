"""Fraud throughput: 1M spam reports ingested, classified and clustered.

Not a test: prints a table and writes JSON to bench/results/.  From the
repository root:

    .venv/bin/python bench/bench_fraud.py                    # 1,000,000 reports
    .venv/bin/python bench/bench_fraud.py --reports 200000
    .venv/bin/python bench/bench_fraud.py --reports 4000000 --workers 2 --commands-only

The reports are one simulated run of ``telsec fraud simulate`` (seed 1: ten
lures in five countries, ham and marketing), written once as JSON lines with
their labels.  Three measurements:

1. the whole command as a user runs it, ``telsec fraud campaigns FILE -f jsonl``
   (read, pseudonymise, extract, classify, cluster, summarise, write), wall
   clock and peak resident memory (of the command's own process, of its
   largest worker, and of the whole tree summed, sampled every 0.2 s), with
   one worker and with every core;
2. the clustering step alone on the run's distinct templates, side by side
   with datasketch (MinHash + MinHashLSH, the usual Python library for it) at
   the same settings: 64 permutations, word 3-gram shingles, threshold 0.5;
3. the campaigns against the simulator's labels: each lure's reports should
   be one campaign (whole), holding nothing else (pure).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import polars as pl
from measure import sampled

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TELSEC = [sys.executable, "-m", "telsec.cli.main", "fraud"]


def build(count: int) -> Path:
    path = RESULTS / f"fraud-{count}.jsonl"
    if not path.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [*TELSEC, "simulate", "--out", str(path), "--reports", str(count), "--seed", "1"],
            check=True,
        )
    return path


def peer_clustering(templates: list[str]) -> tuple[float, int]:
    """datasketch on the same templates: seconds, and clusters of 2 or more."""
    from datasketch import MinHash, MinHashLSH
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=0.5, num_perm=64)
    left, right = [], []
    for i, text in enumerate(templates):
        words = text.split()
        grams = (
            [" ".join(words[j : j + 3]) for j in range(len(words) - 2)]
            if len(words) >= 3
            else [text]
        )
        signature = MinHash(num_perm=64)
        signature.update_batch([g.encode() for g in grams])
        for other in lsh.query(signature):
            left.append(i)
            right.append(other)
        lsh.insert(i, signature)
    count = len(templates)
    graph = coo_matrix(([1] * len(left), (left, right)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    seconds = time.perf_counter() - start
    sizes = pl.Series(labels).value_counts()
    return seconds, int((sizes["count"] >= 2).sum())


def own_clustering(templates: list[str]) -> tuple[float, int]:
    from telsec.fraud.campaigns import near_duplicates

    start = time.perf_counter()
    labels = near_duplicates(templates)
    seconds = time.perf_counter() - start
    sizes = pl.Series(labels).value_counts()
    return seconds, int((sizes["count"] >= 2).sum())


def quality(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """The reports' campaign and true lure; the distinct templates."""
    from telsec.fraud.campaigns import find_campaigns
    from telsec.fraud.pipeline import Ingester
    from telsec.fraud.records import Ingest
    from telsec.fraud.store import ReportStore
    from telsec.privacy import Pseudonymiser

    labels = {}
    for line in path.with_suffix(".labels.jsonl").read_bytes().splitlines():
        row = orjson.loads(line)
        labels[row["report_id"]] = row["campaign"]
    truth = pl.col("report_id").replace_strict(labels, default=None).fill_null("-")
    ingest = Ingest(Pseudonymiser(b"bench pseudonym key 0123"))
    with ReportStore() as store, Ingester(ingest, store) as ingester:
        ingester.add(path)
        found = (
            find_campaigns(store.scan(), store.signatures())
            .select("report_id", "campaign")
            .collect()
            .with_columns(truth.alias("truth"))
        )
        templates = store.scan(["template"]).unique().collect()["template"].to_list()
    return found, templates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--workers", help="worker counts to time, comma-separated (1 and all)")
    parser.add_argument(
        "--commands-only", action="store_true", help="time the commands only (no peer, no quality)"
    )
    args = parser.parse_args()
    path = build(args.reports)
    rows = []
    counts = [int(n) for n in args.workers.split(",")] if args.workers else [1, os.cpu_count() or 1]
    for workers in counts:
        command = [
            *TELSEC,
            "campaigns",
            str(path),
            "-f",
            "jsonl",
            "-o",
            os.devnull,
            "--workers",
            str(workers),
        ]
        seconds, tree, main_process, worker = sampled(command)
        rows.append(
            {
                "step": f"telsec fraud campaigns, {workers} worker(s)",
                "reports": args.reports,
                "seconds": round(seconds, 1),
                "reports/s": round(args.reports / seconds),
                "peak_rss_mib_main": round(main_process / 2**20),
                "peak_rss_mib_worker": round(worker / 2**20),
                "peak_rss_mib_tree": round(tree / 2**20),
            }
        )
        print(f"{rows[-1]}", file=sys.stderr)
    if args.commands_only:
        print(json.dumps(rows, indent=2))
        return
    found, templates = quality(path)
    for name, measure in (("telsec near_duplicates", own_clustering),
                          ("datasketch MinHashLSH", peer_clustering)):  # fmt: skip
        seconds, clusters = measure(templates)
        rows.append(
            {
                "step": f"clustering {len(templates):,} templates: {name}",
                "seconds": round(seconds, 1),
                "templates/s": round(len(templates) / seconds),
                "clusters": clusters,
            }
        )
        print(f"{rows[-1]}", file=sys.stderr)
    lures = {}
    for lure in sorted(set(found["truth"].to_list()) - {"-"}):
        mine = found.filter(pl.col("truth") == lure)
        numbers = mine["campaign"].unique().to_list()
        whole = len(numbers) == 1 and numbers[0] >= 0
        pure = (
            whole
            and found.filter(pl.col("campaign") == numbers[0], pl.col("truth") != lure).is_empty()
        )
        lures[lure] = {"reports": mine.height, "campaigns": len(numbers), "whole": whole,
                       "pure": pure}  # fmt: skip
    result = {
        "rows": rows,
        "lures": lures,
        "cpu": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (RESULTS / f"fraud-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(
        json.dumps(result, indent=2)
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
