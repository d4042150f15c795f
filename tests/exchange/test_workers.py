"""``telsec serve --workers N``: one socket per worker, connections spread over them,
a clear error when the address is taken."""

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


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the IPv4 sockets listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
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


def test_each_worker_listens_on_its_own_socket(sqlite_database: Database, tmp_path) -> None:
    coalition = build_coalition(sqlite_database)
    token = coalition.token("Ofcom")
    hub = start_hub(sqlite_database, tmp_path / "hub.log", workers=2)
    try:
        port = int(hub.url.rsplit(":", 1)[1])
        workers = _workers(hub.process.pid)
        assert len(workers) == 2, hub.log_text()
        deadline = time.monotonic() + 60  # the hub answers once its first worker is up
        while len(listening := _listening_inodes(port)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        held = [_socket_inodes(pid) & listening for pid in workers]
        # uvicorn's own --workers share one socket (one inode, held by both), and
        # asyncio accepts every pending connection in one wake-up, so under load a
        # burst of clients stays on one worker (bench/bench_taxii.py showed it);
        # here each worker listens on its own socket and the kernel spreads them
        assert len(listening) == 2 and all(len(h) == 1 for h in held) and held[0] != held[1]
        assert not _socket_inodes(hub.process.pid) & listening  # the supervisor listens not
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/taxii+json;version=2.1",
        }
        clients = 12
        barrier = threading.Barrier(clients)
        codes: list[int] = []

        def client() -> None:
            with httpx.Client(timeout=30, headers=headers) as http:
                barrier.wait()
                for _ in range(15):
                    codes.append(http.get(f"{hub.url}/coalition/collections/").status_code)

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert codes == [200] * clients * 15
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
