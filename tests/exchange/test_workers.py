"""``telsec serve --workers N``: connections go to the least loaded worker, a dead
worker is replaced, a taken address is a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import Database, build_coalition
from tests.interop.hub import cli_env, start_hub


def _connections(port: int) -> set[str]:
    """Inodes of the IPv4 sockets with an established connection to local ``port``
    (the server's side of each connection), from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].split(":")[1], 16) == port:
            found.add(fields[9])
    return found


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def _workers(pid: int) -> list[int]:
    """The worker processes of a server (multiprocessing's spawned children; not its
    resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _held(workers: list[int], port: int) -> list[int]:
    """How many connections to ``port`` each worker holds."""
    established = _connections(port)
    return [len(_socket_inodes(pid) & established) for pid in workers]


def test_connections_go_to_the_least_loaded_worker(sqlite_database: Database, tmp_path) -> None:
    coalition = build_coalition(sqlite_database)
    token = coalition.token("Ofcom")
    hub = start_hub(sqlite_database, tmp_path / "hub.log", workers=2)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/taxii+json;version=2.1"}
    try:
        port = int(hub.url.rsplit(":", 1)[1])
        workers = _workers(hub.process.pid)
        assert len(workers) == 2, hub.log_text()

        def together() -> list[int]:
            """Two clients connect at the same moment: the connections each worker holds."""
            barrier = threading.Barrier(2)
            clients = [httpx.Client(timeout=30, headers=headers) for _ in range(2)]

            def connect(http: httpx.Client) -> None:
                barrier.wait()
                assert http.get(f"{hub.url}/taxii2/").status_code == 200

            threads = [threading.Thread(target=connect, args=(c,)) for c in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            held = _held(workers, port)
            for http in clients:
                http.close()
            deadline = time.monotonic() + 10
            while any(_held(workers, port)) and time.monotonic() < deadline:
                time.sleep(0.02)
            return held

        # The hub answers once both workers are up (it listens only then); from the
        # first connection on, each worker gets one, in at least 8 rounds of 10.
        # uvicorn's own --workers (one socket, every pending connection accepted
        # in one wake-up) put both on one worker in most runs of
        # bench/bench_taxii.py, and sockets of their own (SO_REUSEPORT: the kernel
        # hashes each connection) in half of them (8 of 10 by chance: 5 %).  Not
        # 10 of 10: the balancing is by time (a worker holding a connection waits
        # 4 ms before taking another), and on a CI machine busy with the rest of
        # the suite the idle worker was once not scheduled within it (1 round of
        # 10, in a fresh clone's full run).
        rounds = [sorted(together()) for _ in range(10)]
        assert rounds.count([1, 1]) >= 8 and all(sum(r) == 2 for r in rounds), rounds
        assert not _socket_inodes(hub.process.pid) & _connections(port)  # the supervisor serves not
        # A crowd: every request answered, by both workers.
        clients_n = 12
        barrier = threading.Barrier(clients_n)
        codes: list[int] = []
        counts: list[list[int]] = []

        def client() -> None:
            with httpx.Client(timeout=30, headers=headers) as http:
                barrier.wait()
                for n in range(15):
                    codes.append(http.get(f"{hub.url}/coalition/collections/").status_code)
                    if n == 0:
                        barrier.wait()
                        counts.append(_held(workers, port))

        threads = [threading.Thread(target=client) for _ in range(clients_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert codes == [200] * clients_n * 15
        assert all(min(held) >= clients_n // 4 for held in counts), counts
    finally:
        hub.stop()
    assert hub.process.returncode == 0, hub.log_text()


def test_a_worker_that_dies_is_replaced(sqlite_database: Database, tmp_path) -> None:
    hub = start_hub(sqlite_database, tmp_path / "hub.log", workers=2)
    try:
        first = _workers(hub.process.pid)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers(hub.process.pid)
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.2)
        assert first[1] in now and len(now) == 2 and first[0] not in now, now
        assert httpx.get(f"{hub.url}/taxii2/", timeout=10).status_code == 401  # still serving
    finally:
        hub.stop()


def test_a_taken_address_is_a_clear_error(sqlite_database: Database, tmp_path) -> None:
    hub = start_hub(sqlite_database, tmp_path / "hub.log")
    try:
        port = hub.url.rsplit(":", 1)[1]
        taken = subprocess.run(
            [sys.executable, "-m", "telsec.cli.main", "serve", "--port", port, "--workers", "2"],
            capture_output=True,
            env=cli_env(sqlite_database),
            timeout=60,
        )
        assert taken.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr.decode()
        assert b"Traceback" not in taken.stderr
    finally:
        hub.stop()
