"""The Dask side of a scan: the captures cut, and the stateful rules' parts held,
by a cluster's workers.

On a Dask cluster (``telsec signalling scan --dask``) the workers read the
capture files, the client does not: it asks them for the files' sizes
(:func:`capture_sizes`), and they cut each file into chunks a piece at a time
(:func:`cluster_chunks`), each piece while the last one's chunks are inspected.
The chunks are inspected as tasks (:func:`~telsec.signalling.pipeline.inspect_chunk`),
and the stateful rules are split as with ``--workers`` (by subscriber and by
GT), a part held by each of up to :data:`MAX_CLUSTER_PARTS` workers as a Dask
actor (:class:`TrackingActor`).  The worker that inspected a chunk delivers its
events to the parts itself (:func:`inspect_and_deliver`); the client collects
the parts' findings and merges them (:class:`ClusterTrackers`), and keeps no
state of the rules.  Imported only for a cluster scan (it loads asyncio).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from telsec.privacy import Pseudonymiser
from telsec.signalling.findings import Events
from telsec.signalling.pipeline import (
    Chunk,
    ChunkResult,
    Emit,
    Found,
    Tracking,
    WorkerLost,
    cut,
    inspect_chunk,
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

    The worker that inspected a chunk delivers the chunk's part here itself
    (:func:`inspect_and_deliver`), and the client collects what the part decided
    (:meth:`collect`): events never pass through the client.  Each chunk has its
    turn, its place in file order; parts arrive in any order (chunks are
    inspected side by side, and Dask does not promise to run calls in the order
    they were made) and are tracked in turn order.  A part delivered twice (its
    task ran again after its worker was lost) is taken once.  The work runs in the
    worker's event loop, a chunk's part at a time (two parts took 0.7 to 0.9 s in
    all over the 28 chunks of the 1M-message benchmark capture, on a 2-core
    machine)."""

    def __init__(self, policy: Policy, emit: Emit, parts: int) -> None:
        self.tracking = Tracking(policy, emit, keyed=True, parts=parts)
        #: The next turn to track.
        self.turn = 0
        self._waiting: dict[int, bytes] = {}
        self._decided: dict[int, asyncio.Future[Found]] = {}

    async def deliver(self, turn: int, message: bytes) -> None:
        """A chunk's part (pickled with its clock, :func:`~.pipeline.inspect_chunk`):
        kept until its turn; the call returns at once, the part is tracked after."""
        if turn < self.turn or turn in self._waiting:
            return  # delivered before
        self._waiting[turn] = message
        asyncio.get_running_loop().call_soon(self._track_due)

    def _track_due(self) -> None:
        while self.turn in self._waiting:
            decided = self._answer(self.turn)
            try:
                decided.set_result(self.tracking.track_part(self._waiting.pop(self.turn)))
            except Exception as exc:  # the client's collect raises it
                decided.set_exception(exc)
            self.turn += 1

    async def collect(self, turn: int) -> Found:
        """What the part decided on the chunk of ``turn``, once it is tracked."""
        try:
            return await self._answer(turn)
        finally:
            del self._decided[turn]

    async def finish(self, turn: int) -> tuple[Found, int]:
        """What is left to decide once every chunk's part is collected (``turn``: their number)."""
        if turn != self.turn:
            raise RuntimeError(f"finishing at turn {turn}, with turn {self.turn} to track")
        return self.tracking.finish_part()

    def _answer(self, turn: int) -> asyncio.Future[Found]:
        answer = self._decided.get(turn)
        if answer is None:
            answer = self._decided[turn] = asyncio.get_running_loop().create_future()
        return answer


def inspect_and_deliver(
    chunk: Chunk, policy: Policy, pseudonym: Pseudonymiser, emit: Emit, actors: list[Any],
    turn: int,
) -> ChunkResult:  # fmt: skip
    """:func:`~.pipeline.inspect_chunk` as a cluster's task: the chunk's events go
    from here to the parts of the stateful rules (``actors``), split as many ways;
    the client gets the rest.  It returns once every part has its events."""
    result = inspect_chunk(chunk, policy, pseudonym, emit, parts=len(actors))
    assert isinstance(result.events, list)
    try:
        for call in _call_each(actors, "deliver", [(turn, part) for part in result.events]):
            _answer(call)
    except RuntimeError as exc:  # a part's worker was lost while the call was under way
        raise _lost(exc) from None
    return replace(result, events=[])


class ClusterTrackers:
    """The stateful rules split between a Dask cluster's workers, one part held by
    each (a :class:`TrackingActor`), as :class:`~.pipeline._TrackerProcesses` splits them
    between processes: each chunk's parts go from the worker that inspected it to
    the parts' workers, which work while the client writes, and the client
    collects their findings, merged in one order.  The client keeps no state of
    the rules and relays no events."""

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
        self.inspected = 0  # chunks handed out: the next one's turn

    def inspect(self, client: Any, chunk: Chunk, policy: Any, pseudonym: Any, emit: Emit) -> Any:
        """Hand a chunk out to be inspected (:func:`inspect_and_deliver`), its events
        delivered to the parts in its turn: a future of its :class:`ChunkResult`."""
        future = client.submit(inspect_and_deliver, chunk, policy, pseudonym, emit, self.actors,
                               self.inspected, pure=False)  # fmt: skip
        self.inspected += 1
        return _Inspection(future)

    def _call(self, method: str) -> None:
        """Call ``method`` of each part, with the next turn."""
        self.calls.append(_call_each(self.actors, method, [(self.turn,)] * len(self.actors)))
        self.turn += 1

    def send(self, events: Events | list[bytes], clock: float) -> None:
        # the chunk's worker delivered its events (:func:`inspect_and_deliver`)
        self._call("collect")

    def receive(self) -> Found:
        return merged_parts([_answer(call) for call in self.calls.popleft()])

    def finish(self) -> tuple[Found, int]:
        self._call("finish")
        return merged_ends([_answer(call) for call in self.calls.popleft()])


class _Inspection:
    """The future of a chunk's inspection: its task fails when a part's worker is
    lost (Dask fails the tasks that were given that worker's actor), which is lost work."""

    def __init__(self, future: Any) -> None:
        self.future = future

    def result(self) -> ChunkResult:
        try:
            result: ChunkResult = self.future.result()
        except RuntimeError as exc:
            if "Actor was lost" not in str(exc):
                raise
            raise _lost(exc) from None
        return result


def _call_each(actors: list[Any], method: str, arguments: list[tuple[Any, ...]]) -> list[Any]:
    """Call ``method`` of each actor with its ``arguments``: the calls under way."""
    try:
        return [
            getattr(actor, method)(*args) for actor, args in zip(actors, arguments, strict=True)
        ]
    except RuntimeError as exc:  # "Worker holding Actor was lost"
        raise _lost(exc) from None


def _answer(call: Any) -> Any:
    """The result of a Dask future or actor call; a worker that went away is lost work."""
    try:
        return call.result()
    except OSError as exc:  # "Unable to contact Actor's worker"
        raise _lost(exc) from None


def _lost(cause: Exception) -> WorkerLost:
    return WorkerLost(f"a Dask worker holding the stateful rules stopped ({cause})")
