"""The hub's worker processes, each with its own listening socket.

uvicorn's ``--workers`` share one listening socket, and asyncio accepts every
pending connection in one wake-up: a burst of clients (two federation peers
polling at once, a provider's uploader opening its connections) all land on
whichever worker woke first, and stay there for as long as they keep their
connections alive, while the other workers idle.  ``bench/bench_taxii.py``
showed it: with two or four client connections, most runs had one worker doing
all the work (its CPU time per worker is in the results).

Here each worker binds its own socket to the same address with ``SO_REUSEPORT``
and the kernel spreads incoming connections over them.  Linux lets only
sockets of the same user join such a group.  The supervisor (this process)
checks that the address is free, starts the workers, restarts one that dies,
and stops them all on SIGINT/SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from collections import deque
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

#: more restarts than this within the window: the workers are broken, not unlucky
_RESTARTS, _RESTART_WINDOW_S = 5, 60.0
#: how long workers get to finish their requests once told to stop
_GRACE_S = 30.0


class WorkerError(RuntimeError):
    """The workers could not be started or kept running; the message says why."""


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv4 or IPv6), not yet listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _worker(app: str, host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = listening_socket(host, port, reuse_port=True)
    config = uvicorn.Config(app, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(app: str, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Serve ``app`` (an import string of an application factory) with ``workers``
    processes until SIGINT or SIGTERM; ``options`` go to :class:`uvicorn.Config`."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise WorkerError("this system has no SO_REUSEPORT; run with --workers 1")
    try:
        listening_socket(host, port, reuse_port=False).close()
    except OSError as exc:
        raise WorkerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(
            target=_worker, args=(app, host, port, options), name="telsec-worker"
        )
        process.start()
        return process

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start() for _ in range(workers)]
    restarts: deque[float] = deque(maxlen=_RESTARTS)
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(running):
                if process.is_alive() or stopping:
                    continue
                now = time.monotonic()
                if len(restarts) == _RESTARTS and now - restarts[0] < _RESTART_WINDOW_S:
                    raise WorkerError(
                        f"worker processes keep exiting (the last with code {process.exitcode}); "
                        "see the messages above"
                    )
                restarts.append(now)
                running[index] = start()
    finally:
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes its requests
        deadline = time.monotonic() + _GRACE_S
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
