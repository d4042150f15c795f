"""The hub's worker processes and how connections are shared among them.

uvicorn's ``--workers`` share one listening socket, and asyncio accepts every
pending connection in one wake-up: a burst of clients (two federation peers
polling at once, a provider's uploader opening its connections) all land on
whichever worker woke first, and stay there for as long as they keep their
connections alive, while the other workers idle.  Giving each worker its own
``SO_REUSEPORT`` socket does not cure it either: the kernel hashes each
connection to a socket regardless of load, so two clients share one worker
half the time.  ``bench/bench_taxii.py`` measured both (its results record the
CPU time of each worker).

Here the workers share one socket, and each accepts one connection at a time,
the least loaded first: a worker that already holds connections waits a few
milliseconds (longer the more it holds) before taking a pending one, so an
idler worker, woken by the same readiness, takes it.  That is "least
connections" balancing, as a reverse proxy would do it, without one.

The supervisor (this process) binds the socket (a clear error if the address
is taken), starts the workers, listens once all of them are up (connections
made earlier would all go to the first one ready: clients are refused until
then, and retry), restarts a worker that dies, and stops them all on
SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
import socket
import time
from collections import deque
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("telsec.workers")

#: more restarts than this within the window: the workers are broken, not unlucky
_RESTARTS, _RESTART_WINDOW_S = 5, 60.0
#: how long workers get to finish their requests once told to stop
_GRACE_S = 30.0
#: how long a worker lets the others take a new connection, per connection it
#: holds, and at most (an idle worker's event loop answers within microseconds;
#: a busy one's within the interpreter's 5 ms switch interval)
_DEFER_PER_CONNECTION_S, _DEFER_MAX_S = 0.004, 0.020
#: the listening socket's queue of connections not yet accepted
_BACKLOG = 2048


class WorkerError(RuntimeError):
    """The workers could not be started or kept running; the message says why."""


def bound_socket(host: str, port: int) -> socket.socket:
    """A non-blocking TCP socket bound to ``host:port`` (IPv4 or IPv6), not yet
    listening."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _listening(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))


def accept_delay(held: int) -> float:
    """Seconds a worker holding ``held`` connections waits before accepting another."""
    return min(held * _DEFER_PER_CONNECTION_S, _DEFER_MAX_S)


class BalancedServer(uvicorn.Server):
    """uvicorn's server, accepting from a shared socket one connection at a time,
    after :func:`accept_delay` for the connections it already holds."""

    def __init__(
        self, config: uvicorn.Config, listener: socket.socket, ready: EventType | None = None
    ) -> None:
        super().__init__(config)
        self._listener = listener
        self._ready = ready
        self._acceptor: asyncio.Task[None] | None = None
        self._handshakes: set[asyncio.Task[None]] = set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the application's start-up; no listener
        if self._ready is not None:
            self._ready.set()
        self._acceptor = asyncio.get_running_loop().create_task(self._accept_forever())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._acceptor is not None:
            self._acceptor.cancel()
        self._listener.close()  # this process's copy; the others keep theirs
        await super().shutdown(sockets)

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        # The supervisor listens once every worker is up: connections made
        # earlier would all have gone to the first one.
        while not _listening(self._listener):
            await asyncio.sleep(0.05)
        while True:
            await _readable(loop, self._listener)
            # connections being set up are not in server_state yet
            delay = accept_delay(len(self.server_state.connections) + len(self._handshakes))
            if delay:
                await asyncio.sleep(delay)
            try:
                conn, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # another worker took it
            except OSError as exc:  # out of file descriptors or buffers
                log.error("cannot accept a connection: %s", exc)
                await asyncio.sleep(0.5)
                continue
            conn.setblocking(False)
            task = loop.create_task(self._serve_connection(conn))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)

    async def _serve_connection(self, conn: socket.socket) -> None:
        config = self.config
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                lambda: config.http_protocol_class(  # type: ignore[call-arg]
                    config=config,
                    server_state=self.server_state,
                    app_state=self.lifespan.state,
                ),
                conn,
                ssl=config.ssl,
            )
        except (OSError, ValueError) as exc:  # a failed TLS handshake, a reset
            log.debug("connection dropped before its first request: %s", exc)
            conn.close()


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def _worker(app: str, listener: socket.socket, ready: EventType, options: dict[str, Any]) -> None:
    host, port = listener.getsockname()[:2]
    config = uvicorn.Config(app, factory=True, host=host, port=port, **options)
    BalancedServer(config, listener, ready).run()


def run_workers(app: str, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Serve ``app`` (an import string of an application factory) with ``workers``
    processes until SIGINT or SIGTERM; ``options`` go to :class:`uvicorn.Config`."""
    try:
        listener = bound_socket(host, port)
    except OSError as exc:
        raise WorkerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    context = multiprocessing.get_context("spawn")
    stopping = False

    readiness: list[EventType] = []

    def start(index: int) -> BaseProcess:
        ready = context.Event()
        if index < len(readiness):
            readiness[index] = ready
        else:
            readiness.append(ready)
        process = context.Process(
            target=_worker, args=(app, listener, ready, options), name="telsec-worker"
        )
        process.start()
        return process

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    running = [start(index) for index in range(workers)]
    restarts: deque[float] = deque(maxlen=_RESTARTS)
    try:
        while not stopping:
            time.sleep(0.05 if not _listening(listener) else 0.2)
            if not _listening(listener) and all(ready.is_set() for ready in readiness):
                listener.listen(_BACKLOG)
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
                running[index] = start(index)
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
        listener.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
