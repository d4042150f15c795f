"""Wall time and peak memory of a command, for the benchmarks in this folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of ``command`` (its largest process,
    workers included), each run in a fresh parent."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], check=True, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), int(out[1]) * 1024


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the process's peak so far) of ``pid``, in bytes."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    values[line[:5]] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return values


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants."""
    return sum(_status(p).get("VmRSS", 0) for p in _descendants(pid))


def sampled(command: list[str], every: float = 0.2) -> tuple[float, int, int, int]:
    """Run ``command`` (output discarded) and sample its process tree: wall
    seconds, the peak of the tree's summed resident memory, the command's own
    process's peak and the largest peak of a process below it (bytes; the
    peaks per process are the kernel's VmHWM, read until each one ends)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree = 0
    peaks: dict[int, int] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal tree
        while not done.is_set():
            total = 0
            for pid in _descendants(process.pid):
                status = _status(pid)
                total += status.get("VmRSS", 0)
                peaks[pid] = max(peaks.get(pid, 0), status.get("VmHWM", 0))
            tree = max(tree, total)
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    if code:
        raise SystemExit(f"{command[0]} failed with exit code {code}")
    own = peaks.pop(process.pid, 0)
    return time.perf_counter() - start, tree, own, max(peaks.values(), default=0)
