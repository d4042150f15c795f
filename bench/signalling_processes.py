"""Where the CPU of a ``--workers N`` scan goes, process by process.

    .venv/bin/python bench/signalling_processes.py --workers 2

Runs :class:`telsec.signalling.pipeline.Scan` over the 1M-message benchmark
capture (``bench_signalling.py`` writes it) with its JSON lines going nowhere,
and reports the CPU seconds and minor page faults of the main process, of each
worker (inside its chunks) and of each part of the stateful rules (inside its
chunks).  It wraps the pipeline's own functions to count; it changes nothing
they do.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from telsec.privacy import Pseudonymiser
from telsec.signalling import pipeline
from telsec.signalling.policy import load_policy

RESULTS = Path(__file__).resolve().parent / "results"


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _counted_inspect(*args: Any, **kwargs: Any) -> pipeline.ChunkResult:
    faults, cpu = _faults(), time.process_time()
    result = _inspect(*args, **kwargs)
    # carried home in the chunk's counters, under names no decoder uses
    result.stats.skipped[f"bench worker {os.getpid()} cpu ms"] += round(
        (time.process_time() - cpu) * 1000
    )
    result.stats.skipped[f"bench worker {os.getpid()} faults"] += _faults() - faults
    return result


def _counted_track(self: Any, events: Any, clock: float) -> pipeline.Found:
    faults, cpu = _faults(), time.process_time()
    found = _track(self, events, clock)
    self.bench_cpu = getattr(self, "bench_cpu", 0.0) + time.process_time() - cpu
    self.bench_faults = getattr(self, "bench_faults", 0) + _faults() - faults
    return found


def _counted_finish(self: Any) -> pipeline.Found:
    sys.stderr.write(  # one write: the parts finish at the same time
        f"part of the stateful rules {os.getpid()}: "
        f"{getattr(self, 'bench_cpu', 0.0):.3f} s CPU, "
        f"{getattr(self, 'bench_faults', 0):,} page faults in its chunks\n"
    )
    return _finish(self)


_inspect, _track, _finish = (
    pipeline.inspect_chunk,
    pipeline.Tracking.track,
    pipeline.Tracking.finish,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--capture", type=Path, default=RESULTS / "signalling-1000000-9.pcap")
    parser.add_argument("--policy", type=Path, default=RESULTS / "signalling-policy.toml")
    args = parser.parse_args()
    pipeline.inspect_chunk = _counted_inspect  # type: ignore[assignment]
    pipeline.Tracking.track = _counted_track  # type: ignore[method-assign]
    pipeline.Tracking.finish = _counted_finish  # type: ignore[method-assign]
    scan = pipeline.Scan(
        load_policy(args.policy), Pseudonymiser(b"bench processes key, not secret!"),
        workers=args.workers,
    )  # fmt: skip
    cpu, faults, start = time.process_time(), _faults(), time.perf_counter()
    written = sum(len(lines) for lines in scan.lines([args.capture]))
    wall = time.perf_counter() - start
    print(
        f"{args.workers} worker(s): {wall:.3f} s wall, {written:,} bytes of JSON lines; "
        f"main process {time.process_time() - cpu:.3f} s CPU, {_faults() - faults:,} page faults",
        file=sys.stderr,
    )
    for name, count in sorted(scan.stats.skipped.items()):
        if name.startswith("bench "):
            print(f"{name[6:]}: {count:,}", file=sys.stderr)


if __name__ == "__main__":
    main()
