"""A signalling scan on a Dask cluster: how long it takes, and how much of it the
client itself works.

Not a test.  It starts a real cluster on this machine (``dask scheduler`` and
``dask worker --nworkers N --nthreads 1``, each a process of its own, as on a
cluster of machines), screens the benchmark capture through it with
:class:`telsec.signalling.pipeline.Scan` writing JSON lines to /dev/null, and
prints, per run, the wall time, the client's CPU time over the scan (its
start-up, imports included, is not counted), the workers' (their processes'
CPU time over the run, read with psutil, which Dask itself depends on), and the
bytes the client read over the scan with ``read`` calls (``rchar``: its files;
Dask's messages arrive by ``recv``, which it does not count).  The client's
work is what bounds a bigger cluster: it hands chunks out, hands the stateful
rules' parts over and writes what comes back; the workers read and cut the
captures.  ``bench/bench_signalling.py`` makes the capture the first time it
runs.  From the repository root:

    .venv/bin/python bench/signalling_dask.py [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from measure import free_port

from telsec.privacy import Pseudonymiser
from telsec.signalling.pipeline import Scan
from telsec.signalling.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DASK = Path(sys.executable).with_name("dask")


def _cluster(workers: int, logs: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A scheduler and ``workers`` one-thread workers, started as processes."""
    address = f"tcp://127.0.0.1:{free_port()}"
    port = address.rsplit(":", 1)[1]
    log = (logs / "dask.log").open("wb")
    started = [
        subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", port,
                          "--no-dashboard"], stdout=log, stderr=log, cwd=logs),
        subprocess.Popen([DASK, "worker", address, "--nworkers", str(workers), "--nthreads",
                          "1", "--no-dashboard"], stdout=log, stderr=log, cwd=logs),
    ]  # fmt: skip
    from distributed import Client

    with Client(address, timeout=60) as client:  # type: ignore[no-untyped-call]
        client.wait_for_workers(workers, timeout=60)
    return address, started


def _workers_cpu(nanny: subprocess.Popen[bytes]) -> float:
    """CPU seconds used so far by the worker processes (the nanny's children)."""
    import psutil

    total = 0.0
    for child in psutil.Process(nanny.pid).children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _read_by_client() -> int:
    """Bytes this process has read so far with ``read`` calls (``rchar`` of
    /proc/self/io; 0 where there is none)."""
    try:
        io = Path("/proc/self/io").read_text()
    except OSError:
        return 0
    return int(next(line for line in io.splitlines() if line.startswith("rchar:")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, default=RESULTS / "signalling-1000000-9.pcap")
    parser.add_argument("--policy", type=Path, default=RESULTS / "signalling-policy.toml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.capture.exists():
        parser.error(f"{args.capture} is missing: run bench/bench_signalling.py once first")
    policy = load_policy(args.policy)
    key = Pseudonymiser(b"bench dask key, not a secret!!!!")
    RESULTS.mkdir(parents=True, exist_ok=True)
    address, started = _cluster(args.workers, RESULTS)
    try:
        print(f"{args.capture.name}, Dask cluster of {args.workers} one-thread workers, "
              f"{os.cpu_count()} cores")  # fmt: skip
        for run in range(1, args.repeat + 1):
            scan = Scan(policy, key, dask=address)
            workers = _workers_cpu(started[1])
            read = _read_by_client()
            wall, cpu = time.perf_counter(), time.process_time()
            with open(os.devnull, "wb") as sink:
                for lines in scan.lines([args.capture]):
                    sink.write(lines)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            workers = _workers_cpu(started[1]) - workers
            read = _read_by_client() - read
            print(f"run {run}: {wall:.2f} s, client CPU {cpu:.2f} s, workers' CPU "
                  f"{workers:.2f} s, client read {read / 1e6:,.1f} MB, "
                  f"{scan.stats.frames:,} frames, "
                  f"{scan.tally.total:,} findings")  # fmt: skip
    finally:
        for process in reversed(started):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
