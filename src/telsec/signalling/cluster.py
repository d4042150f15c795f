"""The Dask side of a scan: the captures cut, and the stateful rules' parts held,
by a cluster's workers.

On a Dask cluster (``telsec signalling scan --dask``) the workers read the
capture files, the client does not: it asks them for the files' sizes
(:func:`capture_sizes`), and they cut each file into chunks a piece at a time
(:func:`cluster_chunks`), each piece while the last one's chunks are inspected.
The chunks are inspected as tasks (:func:`~telsec.signalling.pipeline.inspect_chunk`),
and the stateful rules are split as with ``--workers`` (by subscriber and by
GT), a part held by each of up to :data:`MAX_CLUSTER_PARTS` workers as a Dask
actor (:class:`TrackingActor`).  The client hands each chunk's parts over and
merges what comes back (:class:`ClusterTrackers`); it keeps no state of the
rules.  Imported only for a cluster scan (it loads asyncio).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from telsec.signalling.findings import Events
from telsec.signalling.pipeline import (
    Chunk,
    Emit,
    Found,
    Tracking,
    WorkerLost,
    cut,
    merged_ends,
    merged_parts,
)
from telsec.signalling.policy import Policy

#: Parts of the stateful rules on a Dask cluster, at most (one per worker up to
#: this).  Each part costs the client a round trip per chunk: on the 1M-message
#: benchmark capture its CPU grew from 0.53 s with one part to 0.9 s with eight
#: (bench/signalling_dask.py), while the parts' own work is under 1 s in all.
MAX_CLUSTER_PARTS = 4
#: Chunks a worker cuts at a time: 128 MB of capture, walked in about 0.1 s from
#: the page cache, while the previous piece's chunks are inspected.
CUT_CHUNKS = 16


def capture_sizes(paths: list[str]) -> list[int | None]:
    """Each file's size as a worker sees it (None: no such file there)."""
    return [os.path.getsize(path) if os.path.isfile(path) else None for path in paths]


def cluster_chunks(client: Any, paths: list[str], target: int) -> Iterator[Chunk]:
    """The chunks of the files, in file order, cut on the cluster's workers
    (:func:`~telsec.signalling.pipeline.cut`), :data:`CUT_CHUNKS` at a time: the
    next piece is asked for before this one's chunks are handed out, so it is cut
    while they are inspected (and, asked for first, it goes first)."""

    def cutting(path: str, at: Any) -> Any:
        return client.submit(cut, path, at, target, CUT_CHUNKS, pure=False)

    files = iter(paths)

    def first() -> tuple[str, Any] | None:
        path = next(files, None)
        return None if path is None else (path, cutting(path, None))

    current = first()
    while current is not None:
        path, piece = current
        found, after = piece.result()
        current = first() if after is None else (path, cutting(path, after))
        yield from found


class TrackingActor:
    """One part of the stateful rules, held by a Dask worker (a Dask actor): the
    cluster's counterpart of :func:`~.pipeline._track_part`.  Public so that a worker can
    import it by name.

    The client sends a chunk's events before it takes the previous chunk's
    findings, so two calls can be under way at once: each carries its turn, and
    waits for the calls before it (Dask does not promise to run them in the order
    they were made).  The calls run in the worker's event loop, a chunk's part at
    a time (two parts took 0.7 to 0.9 s in all over the 28 chunks of the 1M-message
    benchmark capture, on a 2-core machine)."""

    def __init__(self, policy: Policy, emit: Emit, parts: int) -> None:
        self.tracking = Tracking(policy, emit, keyed=True, parts=parts)
        self.turn = 0
        self._turns = asyncio.Condition()

    async def track(self, turn: int, message: bytes) -> Found:
        async with self._taking(turn):
            return self.tracking.track_part(message)

    async def finish(self, turn: int) -> tuple[Found, int]:
        async with self._taking(turn):
            return self.tracking.finish_part()

    @asynccontextmanager
    async def _taking(self, turn: int) -> AsyncIterator[None]:
        async with self._turns:
            await self._turns.wait_for(lambda: self.turn == turn)
        try:
            yield
        finally:
            async with self._turns:
                self.turn += 1
                self._turns.notify_all()


class ClusterTrackers:
    """The stateful rules split between a Dask cluster's workers, one part held by
    each (a :class:`TrackingActor`), as :class:`~.pipeline._TrackerProcesses` splits them
    between processes: each chunk's parts go from the client to their workers,
    which work while the client writes, and the findings come back merged in one
    order.  The client keeps no state of the rules."""

    ahead = True  # an answer crosses the network, and waits for the worker's event loop

    def __init__(self, client: Any, workers: list[str], policy: Any, emit: Emit) -> None:
        # a part on each worker named, or on another if that one has left meanwhile
        # (held to it, the part would wait for it for ever)
        made = [
            client.submit(TrackingActor, policy, emit, len(workers), actor=True,
                          workers=[worker], allow_other_workers=True, pure=False)
            for worker in workers
        ]  # fmt: skip
        self.actors = [_answer(future) for future in made]
        self.turn = 0
        self.calls: deque[list[Any]] = deque()

    def _call(self, method: str, arguments: list[tuple[Any, ...]]) -> None:
        """Call ``method`` of each part, with its turn and its ``arguments``."""
        try:
            self.calls.append([
                getattr(actor, method)(self.turn, *args)
                for actor, args in zip(self.actors, arguments, strict=True)
            ])  # fmt: skip
        except RuntimeError as exc:  # "Worker holding Actor was lost"
            raise _lost(exc) from None
        self.turn += 1

    def send(self, events: Events | list[bytes], clock: float) -> None:
        assert isinstance(events, list)  # each part carries its clock
        self._call("track", [(part,) for part in events])

    def receive(self) -> Found:
        return merged_parts([_answer(call) for call in self.calls.popleft()])

    def finish(self) -> tuple[Found, int]:
        self._call("finish", [()] * len(self.actors))
        return merged_ends([_answer(call) for call in self.calls.popleft()])


def _answer(call: Any) -> Any:
    """The result of a Dask future or actor call; a worker that went away is lost work."""
    try:
        return call.result()
    except OSError as exc:  # "Unable to contact Actor's worker"
        raise _lost(exc) from None


def _lost(cause: Exception) -> WorkerLost:
    return WorkerLost(f"a Dask worker holding the stateful rules stopped ({cause})")
