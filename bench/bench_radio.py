"""Radio scan throughput: 10M observations through ``telsec radio scan``.

Not a test: prints a table and writes JSON to bench/results/.  From the
repository root:

    .venv/bin/python bench/bench_radio.py                       # 10M observations
    .venv/bin/python bench/bench_radio.py --observations 2000000

The observations are one simulated city day (``telsec radio simulate``, every
blaster scenario, seed 1, 20 phones) repeated with each copy six hours later
than the one before and its observers renamed, until the count is reached;
written once as Parquet and as JSON lines.  What is timed is the whole command
as a user runs it (read, check, score, locate, write the alerts), wall clock,
with the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from measure import timed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TELSEC = [sys.executable, "-m", "telsec.cli.main", "radio"]


def build(count: int) -> Path:
    folder = RESULTS / f"radio-{count}"
    if (folder / "observations.parquet").exists():
        return folder
    day = RESULTS / "radio-day"
    if not (day / "observations.jsonl").exists():
        subprocess.run(
            [
                *TELSEC,
                "simulate",
                "--out",
                str(day),
                "--scenario",
                "all",
                "--seed",
                "1",
                "--observers",
                "20",
            ],
            check=True,
        )
    base = pl.read_ndjson(day / "observations.jsonl")
    span = 6 * 3600.0
    copies = []
    total = 0
    index = 0
    while total < count:
        take = min(base.height, count - total)
        copies.append(
            base.head(take).with_columns(
                pl.col("time") + index * span,
                pl.col("source") + f"-{index}",
            )
        )
        total += take
        index += 1
    folder.mkdir(parents=True, exist_ok=True)
    frame = pl.concat(copies)
    frame.write_parquet(folder / "observations.parquet")
    frame.write_ndjson(folder / "observations.jsonl")
    for name in ("cells.csv", "operator.toml"):
        (folder / name).write_bytes((day / name).read_bytes())
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--observations", type=int, default=10_000_000)
    args = parser.parse_args()
    folder = build(args.observations)
    rows = []
    for name in ("observations.parquet", "observations.jsonl"):
        command = [
            *TELSEC,
            "scan",
            str(folder / name),
            "--cells",
            str(folder / "cells.csv"),
            "--config",
            str(folder / "operator.toml"),
            "-f",
            "jsonl",
            "-o",
            os.devnull,
        ]
        seconds, peak = timed(command)
        rows.append(
            {
                "input": name,
                "observations": args.observations,
                "seconds": round(seconds, 1),
                "observations/s": round(args.observations / seconds),
                "peak_rss_mb": round(peak / 2**20),
            }
        )
        print(
            f"{name:<22} {seconds:7.1f} s  {args.observations / seconds:>12,.0f} obs/s  "
            f"peak RSS {peak / 2**20:,.0f} MiB",
            file=sys.stderr,
        )
    result = {
        "rows": rows,
        "cpu": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (RESULTS / f"radio-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(
        json.dumps(result, indent=2)
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
