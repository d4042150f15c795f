"""Signalling decode + screen throughput, side by side with tshark; memory on a big capture.

Not a test: it prints a table and writes JSON to bench/results/.  Run from the
repository root with the project's venv:

    .venv/bin/python bench/bench_signalling.py                  # 1M messages, 1 and 2 workers
    .venv/bin/python bench/bench_signalling.py --memory-gb 10   # also: scan a 10 GB capture
    .venv/bin/python bench/bench_signalling.py --skip-tshark --skip-decode --scaling 5
                                                # also: 1 and N workers on 5 copies

What is timed (wall clock, whole commands as a user runs them, on the same file,
with the package's bytecode compiled, the capture in the page cache and one
untimed run of each telsec command first).  The commands run in rounds, each once per round,
``--repeat`` rounds (3 by default); each row gives the median and the best of its
runs and, round by round, tshark's time over its own:

* ``tshark -n -r FILE -T fields -e ...`` extracting the fields telsec's records
  carry (point codes, GTs, SSNs, transaction ids, opcode, IMSI, MSISDN, node
  addresses, Diameter hosts/realms/user), output to /dev/null, pinned to one
  core with taskset;
* ``telsec signalling decode FILE -o /dev/null`` (records as JSON lines), one core,
  then with ``--workers N`` unpinned;
* ``telsec signalling scan FILE --policy P -f jsonl --view findings -o /dev/null``
  (decode + every rule), pinned to one core, then with ``--workers N`` unpinned.

With ``--scaling COPIES`` the capture is repeated COPIES times (as below) and
``scan`` is run on it with one process and with each ``--workers`` count,
unpinned, in alternating rounds: the wall and CPU time of each run (the whole
process tree's) and the speed-up of the medians over one process, where a
command's start-up is a small share.

With ``--memory-gb`` the 1M-message capture is repeated, its timestamps shifted
by the capture's length each time, into a file of that size, which
``scan --workers 2`` then screens while the resident memory of its whole
process tree is sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

from measure import sampled

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TELSEC = [sys.executable, "-m", "telsec.cli.main"]
TSHARK_FIELDS = [
    "frame.number", "frame.time_epoch", "m3ua.protocol_data_opc", "m3ua.protocol_data_dpc",
    "sccp.calling.digits", "sccp.called.digits", "sccp.calling.ssn", "sccp.called.ssn",
    "tcap.otid", "tcap.dtid", "gsm_old.localValue", "e212.imsi", "e164.msisdn",
    "gsm_map.address.digits", "diameter.cmd.code", "diameter.Origin-Host",
    "diameter.Origin-Realm", "diameter.User-Name",
]  # fmt: skip


def timed(
    command: list[str], *, core: int | None = None, env: dict[str, str] | None = None
) -> float:
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    start = time.perf_counter()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    return time.perf_counter() - start


def generate(messages: int, seed: int) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    pcap = RESULTS / f"signalling-{messages}-{seed}.pcap"
    policy = RESULTS / "signalling-policy.toml"
    if not pcap.exists() or not policy.exists():
        print(f"generating {messages:,} messages ...", file=sys.stderr)
        subprocess.run(
            [*TELSEC, "signalling", "generate", "--messages", str(messages), "--seed", str(seed),
             "--out", str(pcap), "--labels", str(pcap.with_suffix(".labels.jsonl")),
             "--policy-out", str(policy)],
            check=True,
        )  # fmt: skip
    return pcap, policy


def repeat_capture(source: Path, target: Path, size: int) -> int:
    """``source`` again and again, each copy later by the source's span, up to ``size`` bytes."""
    data = source.read_bytes()
    header, body = data[:24], memoryview(data)[24:]
    offsets = []
    pos = 0
    while pos + 16 <= len(body):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<I", body, pos + 8)[0]
    first = struct.unpack_from("<I", body, 0)[0]
    last = struct.unpack_from("<I", body, offsets[-1])[0]
    span = last - first + 1
    frames = 0
    with target.open("wb") as out:
        out.write(header)
        copy = bytearray(body)
        written = 24
        shift = 0
        while written < size:
            for at in offsets:
                struct.pack_into("<I", copy, at, struct.unpack_from("<I", body, at)[0] + shift)
            out.write(copy)
            written += len(copy)
            frames += len(offsets)
            shift += span
    return frames


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def scaling(
    pcap: Path, policy: Path, copies: int, worker_counts: list[int], repeat: int,
    env: dict[str, str],
) -> dict[str, object]:  # fmt: skip
    """``scan`` of the capture repeated ``copies`` times with 1 and each of
    ``worker_counts`` workers, unpinned, in alternating rounds: wall and CPU
    seconds (the whole process tree's) of each run, and the speed-up of the medians."""
    big = RESULTS / f"signalling-x{copies}.pcap"
    print(f"writing {big.name} ...", file=sys.stderr)
    frames = repeat_capture(pcap, big, pcap.stat().st_size * copies - 24 * (copies - 1))
    counts = [1, *(w for w in worker_counts if w != 1)]
    runs: dict[int, list[tuple[float, float]]] = {w: [] for w in counts}
    try:
        for number in range(repeat):
            for workers in counts:
                command = [*TELSEC, "signalling", "scan", str(big), "--policy", str(policy),
                           "-f", "jsonl", "--view", "findings", "-o", os.devnull, "--workers",
                           str(workers)]  # fmt: skip
                cpu = children_cpu()
                wall = timed(command, env=env)
                runs[workers].append((wall, children_cpu() - cpu))
                print(f"scaling round {number + 1}: --workers {workers:<3} {wall:8.2f} s, "
                      f"CPU {runs[workers][-1][1]:.2f} s", file=sys.stderr)  # fmt: skip
    finally:
        big.unlink()
    one = statistics.median(wall for wall, _ in runs[1])
    rows = []
    for workers in counts:
        wall = statistics.median(w for w, _ in runs[workers])
        rows.append({"workers": workers, "seconds": round(wall, 2),
                     "runs": [round(w, 2) for w, _ in runs[workers]],
                     "cpu": [round(c, 2) for _, c in runs[workers]],
                     "speed-up": round(one / wall, 2)})  # fmt: skip
        print(f"--workers {workers:<3} {wall:8.2f} s  {one / wall:.2f}x one process "
              f"({frames:,} messages)", file=sys.stderr)  # fmt: skip
    return {"frames": frames, "cpu_count": os.cpu_count(), "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--workers", default="2", help="worker counts to try, comma-separated")
    parser.add_argument("--memory-gb", type=float, default=0.0)
    parser.add_argument("--scaling", type=int, default=0, metavar="COPIES",
                        help="also: scan the capture repeated COPIES times with 1 and N "
                        "workers, unpinned, where start-up is a small share")  # fmt: skip
    parser.add_argument("--skip-tshark", action="store_true")
    parser.add_argument("--skip-decode", action="store_true", help="skip the decode command")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (median)")
    args = parser.parse_args()

    pcap, policy = generate(args.messages, args.seed)
    frames = args.messages
    size = pcap.stat().st_size
    # A user's installed package has its bytecode compiled: make sure this one has
    # too, whatever PYTHONDONTWRITEBYTECODE says, so that no run pays for compiling.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src" / "telsec")],
                   check=True)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["TELSEC_DATA_DIR"] = str(RESULTS / "data")

    jobs: list[tuple[str, list[str], int | None]] = []
    if not args.skip_tshark:
        fields = [item for f in TSHARK_FIELDS for item in ("-e", f)]
        jobs.append(("tshark -T fields, 1 core",
                     ["tshark", "-n", "-r", str(pcap), "-T", "fields", *fields], 0))  # fmt: skip
    worker_counts = [int(w) for w in args.workers.split(",") if w]
    if not args.skip_decode:
        decode = [*TELSEC, "signalling", "decode", str(pcap), "-o", os.devnull]
        jobs.append(("telsec decode (jsonl), 1 core", decode, 0))
        jobs += [(f"telsec decode --workers {w}", [*decode, "--workers", str(w)], None)
                 for w in worker_counts]  # fmt: skip
    scan = [*TELSEC, "signalling", "scan", str(pcap), "--policy", str(policy), "-f", "jsonl",
            "--view", "findings", "-o", os.devnull]  # fmt: skip
    jobs.append(("telsec scan (decode + rules), 1 core", scan, 0))
    jobs += [(f"telsec scan --workers {w}", [*scan, "--workers", str(w)], None)
             for w in worker_counts]  # fmt: skip

    print(f"capture: {pcap.name}, {frames:,} frames, {size / 1e6:,.0f} MB", file=sys.stderr)
    with pcap.open("rb") as capture:  # in the page cache for every command
        while capture.read(1 << 24):
            pass
    for name, command, core in jobs:  # untimed: the first run of a command after a change
        if not name.startswith("tshark"):  # is not a user's
            timed(command, core=core, env=env)
    # Rounds, each command once per round: these machines are noisy and drift over
    # minutes, so every command sees the same drift, and each round compares
    # commands run within a minute or two of each other.
    times: dict[str, list[float]] = {name: [] for name, _, _ in jobs}
    for number in range(args.repeat):
        for name, command, core in jobs:
            times[name].append(timed(command, core=core, env=env))
            print(f"round {number + 1}: {name:<40} {times[name][-1]:8.2f} s", file=sys.stderr)
    reference = times.get("tshark -T fields, 1 core")
    rows = []
    for name, _, _ in jobs:
        runs = times[name]
        seconds = statistics.median(runs)
        entry: dict[str, object] = {
            "what": name, "seconds": round(seconds, 2), "best": round(min(runs), 2),
            "runs": [round(t, 2) for t in runs], "messages/s": round(frames / seconds),
        }  # fmt: skip
        if reference:
            # tshark's time over this command's, round by round, and their median
            ratios = [t / r for t, r in zip(reference, runs, strict=True)]
            entry["vs tshark by round"] = [round(r, 2) for r in ratios]
            entry["vs tshark"] = round(statistics.median(ratios), 2)
        rows.append(entry)
        print(f"{name:<48} {seconds:8.2f} s (best {min(runs):.2f}) "
              f"{frames / seconds:>12,.0f} messages/s"
              + (f"  {entry['vs tshark']}x tshark" if reference else ""),
              file=sys.stderr)  # fmt: skip
    result: dict[str, object] = {
        "capture": pcap.name,
        "frames": frames,
        "bytes": size,
        "rows": rows,
        "cpu": os.cpu_count(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

    if args.scaling:
        result["scaling"] = scaling(pcap, policy, args.scaling, worker_counts, args.repeat, env)
    if args.memory_gb:
        big = RESULTS / f"signalling-{args.memory_gb:g}GB.pcap"
        print(f"writing {big.name} ...", file=sys.stderr)
        big_frames = repeat_capture(pcap, big, int(args.memory_gb * 1e9))
        command = [*TELSEC, "signalling", "scan", str(big), "--policy", str(policy), "-f", "jsonl",
                   "--view", "sources", "-o", os.devnull, "--workers", "2"]  # fmt: skip
        seconds, peak = sampled(command)[:2]
        result["memory"] = {
            "bytes": big.stat().st_size,
            "frames": big_frames,
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(peak / 2**20),
            "workers": 2,
        }
        print(f"{big.stat().st_size / 1e9:.1f} GB, {big_frames:,} frames: {seconds:,.0f} s, "
              f"peak RSS of the process tree {peak / 2**20:,.0f} MiB", file=sys.stderr)  # fmt: skip
        big.unlink()
    out = RESULTS / f"signalling-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
