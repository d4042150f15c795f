"""Decode and screen captures: in one process, on all cores, or on a Dask cluster.

The capture files are cut into chunks at frame boundaries (:func:`chunks`).
Each chunk is decoded and inspected where it runs (:func:`inspect_chunk`):
the stateless rules, per-source activity, and the events of the stateful
rules.  The events go to the stateful rules (:class:`~telsec.signalling.rules.Tracker`)
chunk by chunk in file order, so the velocity, fan-out and SRI-SM rules see each
subscriber's and each GT's messages in the order they happened, whichever worker
decoded them.  At most ``2 x workers`` chunk results are held at once, so memory
stays bounded whatever the capture size.

On ``workers`` processes, the stateful rules are split as many ways
(:meth:`~telsec.signalling.findings.Events.partition`: mobility by subscriber,
lookups and deliveries by GT), each part in a process of its own, and each
worker writes its findings' JSON lines and counts them per source: the main
process only hands parts over and writes what comes back.  The output is the
same bytes whatever the number of workers: a chunk's findings of the stateful
rules are put in one order (:func:`~telsec.signalling.findings.finding_order`).

With Dask, the workers must see the capture files at the same paths (a shared
filesystem): they read and cut them (:func:`cut`, a piece at a time), the client
does not.  Only chunk descriptions, events and findings cross the network, and
those carry pseudonyms and keyed hashes, not subscriber identities.  The
stateful rules are split there too, a part on each of up to four workers, each
chunk's events going from the worker that inspected it to the parts
(:mod:`.cluster`), so that the client only hands chunks out and writes.

``telsec signalling decode --workers`` uses the same chunks and worker processes
to decode every field of every record (:func:`decode_in_parallel`), written by
the workers as JSON lines, CSV rows or Arrow tables and put together in file
order.
"""

from __future__ import annotations

import io
import itertools
import math
import multiprocessing
import os
import pickle
import signal
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, TypeVar

from telsec.heap import rare_collections, rarely_collect, steady_heap
from telsec.packets.capture import (
    MAX_FRAME,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_BYTE_ORDER,
    PCAPNG_SHB,
    CaptureError,
    read_capture,
)
from telsec.privacy import Pseudonymiser
from telsec.signalling._fastpath import PCAPNG_DAMAGED, PCAPNG_HEADER, pcap_walk, pcapng_walk
from telsec.signalling._tracker import Tracker
from telsec.signalling.batch import decode_chunk, read_region
from telsec.signalling.decoder import DecodeStats, Record, decode_packets
from telsec.signalling.findings import Events, Finding, finding_line, finding_order
from telsec.signalling.policy import Policy
from telsec.signalling.rules import (
    Activity,
    Inspector,
    Tally,
    Untracked,
    bound_sources,
    merge_activity,
)

#: Bytes of capture per chunk: big enough to amortise the hand-over, small
#: enough that a few chunks' results fit in memory.
CHUNK_BYTES = 8 << 20


@dataclass(frozen=True)
class Chunk:
    """A run of whole frames of one capture file."""

    path: str
    #: The file header (pcap) or the section and interface blocks (pcapng)
    #: that the frames need to be read on their own.
    header: bytes
    start: int
    end: int
    #: Wireshark number of the chunk's first frame.
    first_frame: int


#: Bytes read at a time when cutting a file into chunks: a block that stays in
#: the processor's cache while its records are walked (8 MB took 3x as long).
_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class Cursor:
    """Where cutting a capture file goes on: the next chunk's start and what its
    frames need (:func:`cut`), so that a file can be cut a piece at a time,
    anywhere that sees it."""

    #: The file's size when its cutting began: the later pieces cut the same file.
    size: int
    header: bytes
    start: int
    first_frame: int
    pcapng: bool = False
    #: The byte order of the pcapng section the chunk is in.
    endian: str = "<"


#: A chunk, and where cutting goes on after it (None: the file is done).
_Cut = tuple[Chunk, Cursor | None]


def _pcap_chunks(path: str, handle: BinaryIO, at: Cursor, target: int) -> Iterator[_Cut]:
    header, size = at.header, at.size
    big_endian = (PCAP_MAGIC_US.get(header[:4]) or PCAP_MAGIC_NS[header[:4]]) == ">"
    start = pos = at.start
    first = at.first_frame
    frame = first - 1
    block, block_at = memoryview(b""), pos
    while pos + 16 <= size:
        if pos - start >= target:
            yield Chunk(path, header, start, pos, first), Cursor(size, header, pos, frame + 1)
            start, first = pos, frame + 1
        if pos - block_at + 16 + MAX_FRAME > len(block) and block_at + len(block) < size:
            handle.seek(pos)  # what is left of the block may not hold a whole record
            block, block_at = memoryview(handle.read(_READ_BLOCK)), pos
        at_end = block_at + len(block) >= size
        offset, frames, damaged = pcap_walk(
            block[pos - block_at :], big_endian, start + target - pos, at_end
        )
        pos += offset
        frame += frames
        if damaged:
            break  # the chunk that reaches it reports where
        if offset == 0:
            break  # nothing walked: the rest cannot hold a whole record
    yield Chunk(path, header, start, size, first), None


def _pcapng_chunks(path: str, handle: BinaryIO, at: Cursor, target: int) -> Iterator[_Cut]:
    header, endian, size = at.header, at.endian, at.size
    start = pos = at.start
    first = at.first_frame
    frame = first - 1
    block, block_at = memoryview(b""), pos

    def read(at: int, count: int) -> bytes:
        if block_at <= at and at + count <= block_at + len(block):
            return bytes(block[at - block_at : at - block_at + count])
        handle.seek(at)
        return handle.read(count)

    while pos + 12 <= size:
        if pos - block_at + 12 + MAX_FRAME + 1024 > len(block) and block_at + len(block) < size:
            handle.seek(pos)  # what is left of the block may not hold a whole record
            block, block_at = memoryview(handle.read(_READ_BLOCK)), pos
        offset, frames, state = pcapng_walk(
            block[pos - block_at :], endian == ">", start + target - pos,
            block_at + len(block) >= size,
        )  # fmt: skip
        pos += offset
        frame += frames
        if state == PCAPNG_DAMAGED or pos + 12 > size:
            break  # the chunk that reaches it reports where
        head = read(pos, 12)
        if head[:4] == PCAPNG_SHB:
            if head[8:12] not in PCAPNG_BYTE_ORDER:
                break  # a section the reader refuses: the last chunk reports it
            endian = PCAPNG_BYTE_ORDER[head[8:12]]
        block_type, length = struct.unpack_from(endian + "II", head)
        if state == PCAPNG_HEADER:  # section header, interface description
            if length < 12 or length % 4 or pos + length > size:
                break
            whole = read(pos, length)
            header = whole if block_type == 0x0A0D0D0A else header + whole
            if start == pos:
                start = pos + length  # the header travels with every chunk
            pos += length
        elif block_type in (2, 3, 6) and pos - start >= target:
            yield (
                Chunk(path, header, start, pos, first),
                Cursor(size, header, pos, frame + 1, pcapng=True, endian=endian),
            )
            start, first = pos, frame + 1
        elif offset == 0:  # a block longer than a read: over it here
            if length < 12 or length % 4 or pos + length > size:
                break
            frame += block_type in (2, 3, 6)
            pos += length
    yield Chunk(path, header, start, size, first), None


def _file_chunks(path: str, target: int, at: Cursor | None = None) -> Generator[_Cut, None, None]:
    """The chunks of one file from ``at`` (None: its start), each with where cutting
    goes on after it."""
    with open(path, "rb") as handle:
        if at is None:
            size = os.fstat(handle.fileno()).st_size
            magic = handle.read(4)
            if size < 24 or magic not in (*PCAP_MAGIC_US, *PCAP_MAGIC_NS, PCAPNG_SHB):
                # not a capture, or empty: one chunk, whose reader says what is wrong
                yield Chunk(path, b"", 0, size, 1), None
                return
            if magic == PCAPNG_SHB:  # its header blocks are read as they come
                at = Cursor(size, b"", 0, 1, pcapng=True)
            else:  # a pcap's header is its first 24 bytes
                at = Cursor(size, magic + handle.read(20), 24, 1)
        walk = _pcapng_chunks if at.pcapng else _pcap_chunks
        yield from walk(path, handle, at, target)


def chunks(paths: Iterable[str | Path], target: int | None = None) -> Iterator[Chunk]:
    """Chunks of about ``target`` bytes, at frame boundaries, in file order (lazily:
    the first chunks go to work while the rest of the file is still being cut)."""
    target = target or CHUNK_BYTES
    for path in map(str, paths):
        for chunk, _ in _file_chunks(path, target):
            yield chunk


def cut(path: str, at: Cursor | None, target: int, count: int) -> tuple[list[Chunk], Cursor | None]:
    """The next ``count`` chunks of a file from ``at`` (None: its start), and where
    cutting goes on (None: the file is done): :func:`chunks` a piece at a time, on
    whichever machine reads the file (a Dask worker)."""
    with closing(_file_chunks(path, target, at)) as walk:
        taken = list(itertools.islice(walk, count))
    return [chunk for chunk, _ in taken], taken[-1][1]


class WorkerLost(Exception):
    """A worker process stopped before its work was done (killed: out of memory?)."""


class MissingCaptures(Exception):
    """Capture files that a Dask cluster's workers do not see."""


#: What a scan hands back of its findings: the findings themselves, their JSON
#: lines (written where they were found, on the workers), or nothing but the
#: counts per source (:class:`~.rules.Tally`).
Emit = Literal["findings", "jsonl", "none"]


@dataclass
class Found:
    """Findings of one step of a scan (a chunk's messages, or what the stateful
    rules decided on a chunk's events), as the scan was asked to hand them back."""

    #: With ``emit="findings"``.
    findings: list[Finding]
    #: With ``emit="jsonl"``: JSON lines (:func:`~.findings.finding_line`), several to an item.
    lines: list[bytes]
    #: The findings counted per source, whatever was asked.
    tally: Tally
    #: Where each finding goes (:func:`~.findings.finding_order`), to merge the output
    #: of the stateful rules' parts; empty where there is one part.
    order: list[tuple[float, int, str]] = field(default_factory=list)


def found(items: list[Finding], emit: Emit, keyed: bool = False) -> Found:
    """``items`` counted, and kept or written as JSON lines as ``emit`` says; with
    ``keyed``, one line per finding and each finding's place for :func:`merged_parts`."""
    tally = Tally()
    tally.add_all(items)
    order = list(map(finding_order, items)) if keyed else []
    if emit == "findings":
        return Found(items, [], tally, order)
    if emit == "jsonl":
        lines = list(map(finding_line, items)) if keyed else [b"".join(map(finding_line, items))]
        return Found([], lines, tally, order)
    return Found([], [], tally)


def merged_parts(parts: list[Found]) -> Found:
    """The output of the stateful rules' parts for one chunk, as one part would give it."""
    if len(parts) == 1:
        return parts[0]
    tally = Tally()
    for part in parts:
        tally.merge(part.tally)
    if any(part.findings for part in parts):
        findings = [item for _, item in _in_place(parts, "findings")]
        return Found(findings, [], tally)
    lines = [line for _, line in _in_place(parts, "lines")]
    return Found([], [b"".join(lines)] if lines else [], tally)


def merged_ends(answers: list[tuple[Found, int]]) -> tuple[Found, int]:
    """The parts' :meth:`Tracking.finish_part` answers, as one part would give them."""
    return merged_parts([done for done, _ in answers]), sum(count for _, count in answers)


def _in_place(parts: list[Found], name: str) -> list[tuple[Any, Any]]:
    """(place, item) of the parts' ``findings`` or ``lines``, merged by place: each
    part is in order, and a stable sort merges such runs (in C: twice as fast as
    ``heapq.merge``), equal places in part order."""
    placed = [pair for part in parts for pair in zip(part.order, getattr(part, name), strict=True)]
    placed.sort(key=itemgetter(0))
    return placed


@dataclass
class ChunkResult:
    #: What the per-message rules found.
    found: Found
    #: The events for the stateful rules: as they are, or split into parts for
    #: the processes that hold those rules' state, each pickled with the chunk's
    #: :attr:`clock` (:meth:`~.findings.Events.partition`).
    events: Events | list[bytes]
    #: The latest capture time of the chunk's events (-inf: none).
    clock: float
    activity: dict[str, Activity]
    stats: DecodeStats


def inspect_chunk(
    chunk: Chunk, policy: Policy, pseudonym: Pseudonymiser, emit: Emit = "findings",
    parts: int = 0,
) -> ChunkResult:  # fmt: skip
    """Decode one chunk (:mod:`.batch`) and run the first stage of screening on it;
    with ``parts``, its events are split that many ways for the stateful rules."""
    batch = decode_chunk(chunk.path, chunk.header, chunk.start, chunk.end, chunk.first_frame)
    inspector = Inspector(policy, pseudonym)
    findings, events = inspector.inspect_batch(batch)
    clock = float(events.time.max()) if len(events) else -math.inf
    split: Events | list[bytes] = events
    if parts:
        split = [
            pickle.dumps((part, clock), pickle.HIGHEST_PROTOCOL) for part in events.partition(parts)
        ]
    return ChunkResult(found(findings, emit), split, clock, inspector.activity, batch.stats)


class Tracking:
    """The stateful rules' state, or one of ``parts`` parts of it
    (:meth:`~.findings.Events.partition`): a part's tables are bounded to its share
    of the whole's, so that memory is bounded the same whatever the number of parts
    (a GT's lookups are all in one part: their bound stays whole)."""

    def __init__(self, policy: Policy, emit: Emit, keyed: bool = False, parts: int = 1) -> None:
        self.tracker = whole = Tracker(policy)
        if parts > 1:
            self.tracker = Tracker(
                policy,
                max_subscribers=max(1, whole.max_subscribers // parts),
                max_pending=max(1, whole.max_pending // parts),
                max_recent=whole.max_recent,
                max_gts=max(1, whole.max_gts // parts),
            )
        self.emit = emit
        self.keyed = keyed

    def track(self, events: Events, clock: float) -> Found:
        items = self.tracker.apply(events)
        items.extend(self.tracker.advance(clock))
        return self._decided(items)

    def finish(self) -> Found:
        return self._decided(self.tracker.finish())

    def track_part(self, message: bytes) -> Found:
        """:meth:`track` a part of a chunk's events as :func:`inspect_chunk` pickles
        it, with the chunk's clock."""
        # pickled by this scan's own workers, as multiprocessing's and Dask's results are
        return self.track(*pickle.loads(message))  # noqa: S301

    def finish_part(self) -> tuple[Found, int]:
        """What is left to decide, and the SRI-SMs left undecided."""
        return self.finish(), self.tracker.undecided

    def _decided(self, items: list[Finding]) -> Found:
        items.sort(key=finding_order)
        return found(items, self.emit, self.keyed)


class _Trackers(Protocol):
    #: Whether a chunk's events may be sent before the previous chunk's answer is
    #: taken (the answer then hides the time it takes to come back).
    ahead: bool

    def send(self, events: Events | list[bytes], clock: float) -> None: ...
    def receive(self) -> Found: ...
    def finish(self) -> tuple[Found, int]: ...


class _HereTracker:
    """The stateful rules in this process."""

    ahead = False  # they are done when sent

    def __init__(self, policy: Policy, emit: Emit) -> None:
        self.tracking = Tracking(policy, emit)
        self.done: Found | None = None

    def send(self, events: Events | list[bytes], clock: float) -> None:
        assert isinstance(events, Events)
        self.done = self.tracking.track(events, clock)

    def receive(self) -> Found:
        assert self.done is not None
        done, self.done = self.done, None
        return done

    def finish(self) -> tuple[Found, int]:
        return self.tracking.finish(), self.tracking.tracker.undecided


def _track_part(conn: Connection, policy: Policy, emit: Emit, parts: int) -> None:
    """A process holding one part of the stateful rules' state: events in, findings out.

    Ctrl-C is the main process's to handle: it closes the pipe, and this ends."""
    _worker_started()
    tracking = Tracking(policy, emit, keyed=True, parts=parts)
    try:
        while message := conn.recv_bytes():
            conn.send(tracking.track_part(message))
        conn.send(tracking.finish_part())
    except EOFError:
        pass  # the scan was stopped
    except Exception as exc:  # the main process raises it
        conn.send(exc)
    finally:
        conn.close()


class _TrackerProcesses:
    """The stateful rules split between processes, by subscriber and by GT: each
    chunk's parts go to their processes, which work while the main process writes
    and the workers decode, and the findings come back merged in one order."""

    #: Not ahead: with a chunk's events and the previous chunk's findings both larger
    #: than a pipe holds, each side would wait to write what the other does not read.
    ahead = False

    def __init__(self, context: BaseContext, parts: int, policy: Policy, emit: Emit) -> None:
        self.conns: list[Connection] = []
        self.processes: list[BaseProcess] = []
        self.finished = False
        for _ in range(parts):
            ours, theirs = context.Pipe()
            process = context.Process(  # type: ignore[attr-defined]
                target=_track_part, args=(theirs, policy, emit, parts), daemon=True
            )
            process.start()
            theirs.close()
            self.conns.append(ours)
            self.processes.append(process)

    def send(self, events: Events | list[bytes], clock: float) -> None:
        # each part travels pickled with its chunk's clock (:func:`inspect_chunk`)
        assert isinstance(events, list)
        try:
            for conn, part in zip(self.conns, events, strict=True):
                conn.send_bytes(part)
        except (BrokenPipeError, ConnectionResetError):
            raise WorkerLost("a process of the stateful rules stopped") from None

    def _answers(self) -> list[Any]:
        answers = []
        for conn in self.conns:
            try:
                answer = conn.recv()
            except EOFError:
                raise WorkerLost("a process of the stateful rules stopped") from None
            if isinstance(answer, Exception):
                raise answer
            answers.append(answer)
        return answers

    def receive(self) -> Found:
        return merged_parts(self._answers())

    def finish(self) -> tuple[Found, int]:
        self.send([b""] * len(self.conns), math.inf)
        answers = self._answers()
        self.finished = True
        return merged_ends(answers)

    def close(self) -> None:
        """After :meth:`finish` the processes have ended; if the scan stopped before
        (an error, Ctrl-C), they are stopped: one waiting for events would not see
        its pipe close, as the other processes forked from this one hold its end."""
        for conn in self.conns:
            conn.close()
        for process in self.processes:
            process.join(timeout=5 if self.finished else 0)
            if process.is_alive():
                process.terminate()
                process.join()


def _sized(work: Iterator[Chunk]) -> tuple[Iterator[Chunk], Iterator[int]]:
    """The chunks, and their sizes in the same order as they are handed out."""
    handed: deque[int] = deque()

    def chunks_out() -> Iterator[Chunk]:
        for chunk in work:
            handed.append(chunk.end - chunk.start)
            yield chunk

    return chunks_out(), _Sizes(handed)


class _Sizes:
    """Pops the size of the oldest chunk handed out (an iterator that does not end)."""

    def __init__(self, handed: deque[int]) -> None:
        self._handed = handed

    def __iter__(self) -> _Sizes:
        return self

    def __next__(self) -> int:
        return self._handed.popleft() if self._handed else 0


class _Future(Protocol):
    def result(self) -> Any: ...


def _in_order(
    submit: Callable[[Chunk], _Future], work: Iterable[Chunk], window: int
) -> Iterator[Any]:
    """Results in submission order, with at most ``window`` chunks in flight."""
    pending: deque[_Future] = deque()
    for chunk in work:
        pending.append(submit(chunk))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _worker_context() -> BaseContext:
    """How worker processes start: at once and with the code loaded where that is safe.

    On Linux, a process that runs no other thread forks its workers: they start
    at once, sharing its loaded code.  Forking a process with threads could copy a
    lock another thread holds, so a process with threads gets its workers from a
    forkserver, a small server that imported this module alone (its start-up,
    0.2 to 0.3 s, delays the first results).  "spawn", where there is neither,
    would import the whole program (the main module: the CLI, the web app ...) in
    every worker.  Callers that start threads of their own (a progress display)
    take the first result before they do (:func:`in_parallel`)."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


_T = TypeVar("_T")


def _worker_started() -> None:
    """What every worker process does first: leave Ctrl-C to the main process (which
    stops the workers; each would print its own stack trace), keep its heap and
    collect cycles rarely (it does nothing but screen)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    steady_heap()
    rarely_collect()


def in_parallel(
    function: Callable[[Chunk], _T], work: Iterable[Chunk], workers: int
) -> Iterator[_T]:
    """``function`` of each chunk, on ``workers`` processes, results in chunk order
    (at most ``2 x workers`` chunks in flight).  The workers start with the first
    ``next()`` (see :func:`_worker_context`)."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(
            workers, mp_context=_worker_context(), initializer=_worker_started
        ) as pool:
            yield from _in_order(lambda chunk: pool.submit(function, chunk), work, 2 * workers)
    except BrokenProcessPool:
        raise WorkerLost("a worker process stopped") from None


@dataclass
class Scan:
    """A screening run; iterate :meth:`findings`, :meth:`batches` or :meth:`lines`
    (or call :meth:`run`), then read the counters."""

    policy: Policy
    pseudonym: Pseudonymiser
    workers: int = 1
    dask: str | None = None
    stats: DecodeStats = field(default_factory=DecodeStats)
    activity: dict[str, Activity] = field(default_factory=dict)
    #: Findings per source (the sources of :attr:`activity`), and in all.
    tally: Tally = field(default_factory=Tally)
    #: Sources beyond ``MAX_SOURCES`` left out of :attr:`activity` and :attr:`tally`.
    untracked: Untracked = field(default_factory=Untracked)
    undecided: int = 0
    #: Called with the bytes of capture done so far.
    on_progress: Callable[[int], None] | None = None
    #: Bytes of capture to screen, known once :meth:`steps` has begun.
    size: int = 0

    def findings(self, paths: list[Path]) -> Iterator[Finding]:
        for batch in self.batches(paths):
            yield from batch

    def batches(self, paths: list[Path]) -> Iterator[list[Finding]]:
        """The findings a chunk at a time, in order (cheaper to handle than one by one)."""
        for step in self.steps(paths, "findings"):
            yield step.findings

    def lines(self, paths: list[Path]) -> Iterator[bytes]:
        """The findings as JSON lines (:func:`~.findings.finding_line`), several lines
        to an item, written by the processes that found them."""
        for step in self.steps(paths, "jsonl"):
            yield from step.lines

    def run(self, paths: list[Path]) -> None:
        """Screen for the counters alone (:attr:`tally`, :attr:`activity`, ...)."""
        for _ in self.steps(paths, "none"):
            pass

    def steps(self, paths: list[Path], emit: Emit) -> Iterator[Found]:
        """What each chunk's messages raised, then what the stateful rules decided on
        its events, in file order (the counters are updated as they come)."""
        with rare_collections():
            if self.dask:
                yield from self._distributed(paths, emit)
            elif self.workers > 1:
                yield from self._parallel(paths, emit)
            else:
                yield from self._serial(paths, emit)

    def _serial(self, paths: list[Path], emit: Emit) -> Iterator[Found]:
        self.size = sum(map(os.path.getsize, paths))
        work, sizes = _sized(chunks(paths))
        results = (inspect_chunk(chunk, self.policy, self.pseudonym, emit) for chunk in work)
        yield from self._merge(results, sizes, _HereTracker(self.policy, emit))

    def _merge(
        self, results: Iterable[ChunkResult], sizes: Iterator[int], trackers: _Trackers
    ) -> Iterator[Found]:
        done = 0
        behind = False  # the trackers' answer for the previous chunk is still to come

        def decided() -> Found:
            nonlocal done
            answer = trackers.receive()
            self._counted(answer)
            done += next(sizes, 0)
            if self.on_progress:
                self.on_progress(done)
            return answer

        for result in results:
            trackers.send(result.events, result.clock)
            if behind:  # the previous chunk's, which its findings came before
                yield decided()
            merge_activity(self.activity, result.activity)
            self.stats.merge(result.stats)
            self.tally.merge(result.found.tally)
            yield result.found
            behind = trackers.ahead
            if not behind:
                yield decided()
        if behind:
            yield decided()
        last, self.undecided = trackers.finish()
        self._counted(last)
        yield last

    def _counted(self, decided: Found) -> None:
        # sources are bounded once the chunk's findings are all in: a source with
        # no findings of its own messages may have some from the stateful rules
        self.tally.merge(decided.tally)
        bound_sources(self.activity, self.tally, self.untracked)

    def _parallel(self, paths: list[Path], emit: Emit) -> Iterator[Found]:
        self.size = sum(map(os.path.getsize, paths))
        work, sizes = _sized(chunks(paths))
        parts = self.workers  # one part of the stateful rules per core
        # started before the workers: the pool's own thread would rule out forking
        trackers = _TrackerProcesses(_worker_context(), parts, self.policy, emit)
        try:
            inspect = partial(
                inspect_chunk, policy=self.policy, pseudonym=self.pseudonym, emit=emit,
                parts=parts,
            )  # fmt: skip
            yield from self._merge(in_parallel(inspect, work, self.workers), sizes, trackers)
        finally:
            trackers.close()

    def _distributed(self, paths: list[Path], emit: Emit) -> Iterator[Found]:
        from distributed import Client

        from telsec.signalling.cluster import (
            MAX_CLUSTER_PARTS,
            ClusterTrackers,
            capture_sizes,
            cluster_chunks,
        )

        # the workers read the files, at the same paths; this process need not see them
        files = [str(p.resolve()) for p in paths]
        with Client(self.dask) as client:  # type: ignore[no-untyped-call]
            seen = client.submit(capture_sizes, files, pure=False).result()
            missing = [name for name, size in zip(files, seen, strict=True) if size is None]
            if missing:
                raise MissingCaptures(
                    f"no such capture file on the Dask cluster's workers: {', '.join(missing)}"
                )
            self.size = sum(seen)
            work, sizes = _sized(cluster_chunks(client, files, CHUNK_BYTES))
            threads = client.nthreads()
            window = 2 * max(1, sum(threads.values()))
            policy, pseudonym = client.scatter([self.policy, self.pseudonym], broadcast=True)
            # a part of the stateful rules on each of up to MAX_CLUSTER_PARTS workers
            # there are now; with none yet (the chunks wait for one), they stay here
            workers = sorted(threads)[:MAX_CLUSTER_PARTS]
            trackers: _Trackers = (
                ClusterTrackers(client, workers, policy, emit) if workers
                else _HereTracker(self.policy, emit)
            )  # fmt: skip
            if isinstance(trackers, ClusterTrackers):
                # each chunk's events go from its worker to the parts, in turn (file order)
                cluster_trackers = trackers
                results = _in_order(
                    lambda c: cluster_trackers.inspect(client, c, policy, pseudonym, emit),
                    work,
                    window,
                )
            else:
                results = _in_order(
                    lambda c: client.submit(inspect_chunk, c, policy, pseudonym, emit,
                                            pure=False),
                    work,
                    window,
                )  # fmt: skip
            yield from self._merge(results, sizes, trackers)


# -- decoding to records on all cores (``telsec signalling decode --workers``) ---------

RecordFormat = Literal["jsonl", "csv", "parquet"]


def chunk_records(chunk: Chunk) -> tuple[list[Record], DecodeStats]:
    """The reference decoder's records of one chunk, and what it saw."""
    stats = DecodeStats()
    records: list[Record] = []
    body = read_region(chunk.path, chunk.start, chunk.end, stats)
    if body is None:
        return records, stats
    try:
        packets = read_capture(io.BytesIO(chunk.header + body), chunk.first_frame)
        records.extend(decode_packets(packets, stats))
    except CaptureError as exc:
        stats.file_errors.append(f"{chunk.path}: {exc}")
    return records, stats


def encoded_chunk(chunk: Chunk, fmt: RecordFormat) -> tuple[Any, DecodeStats]:
    """A chunk's records written as ``fmt`` by the worker that decoded them: JSON
    lines (bytes), CSV rows without the header (text), or an Arrow table."""
    from telsec.signalling.output import arrow_table, jsonl_line, write_csv

    records, stats = chunk_records(chunk)
    if fmt == "jsonl":
        return b"".join(map(jsonl_line, records)), stats
    if fmt == "csv":
        text = io.StringIO(newline="")
        write_csv(records, text, header=False)
        return text.getvalue(), stats
    return arrow_table(records), stats


def decode_in_parallel(
    paths: list[Path], fmt: RecordFormat, workers: int, on_progress: Callable[[int], None]
) -> Iterator[tuple[Any, DecodeStats]]:
    """Each chunk of the captures decoded and written as ``fmt`` (:func:`encoded_chunk`)
    on ``workers`` processes, in file order; ``on_progress`` gets the bytes done."""
    work, sizes = _sized(chunks(paths))
    done = 0
    for result in in_parallel(partial(encoded_chunk, fmt=fmt), work, workers):
        done += next(sizes, 0)
        on_progress(done)
        yield result
