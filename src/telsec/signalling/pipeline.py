"""Decode and screen captures: in one process, on all cores, or on a Dask cluster.

The capture files are cut into chunks at frame boundaries (:func:`chunks`).
Each chunk is decoded and inspected where it runs (:func:`inspect_chunk`):
the stateless rules, per-source activity, and the events of the stateful
rules.  The results come back in file order and the events go through one
:class:`~telsec.signalling.rules.Tracker` in time order, so the velocity,
fan-out and SRI-SM rules see each subscriber's and each GT's messages in the
order they happened, whichever worker decoded them.  At most ``2 x workers``
chunk results are held at once, so memory stays bounded whatever the capture
size.

With Dask, the workers must see the capture files at the same paths (a shared
filesystem); only chunk descriptions, events and findings cross the network,
and those carry pseudonyms and keyed hashes, not subscriber identities.

``telsec signalling decode --workers`` uses the same chunks and worker processes
to decode every field of every record (:func:`decode_in_parallel`), written by
the workers as JSON lines, CSV rows or Arrow tables and put together in file
order.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, TypeVar

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
from telsec.signalling.findings import Events, Finding
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


def _pcap_chunks(path: str, handle: BinaryIO, size: int, target: int) -> Iterator[Chunk]:
    handle.seek(0)
    header = handle.read(24)
    big_endian = (PCAP_MAGIC_US.get(header[:4]) or PCAP_MAGIC_NS[header[:4]]) == ">"
    start, frame, first, pos = 24, 0, 1, 24
    block, block_at = memoryview(b""), pos
    while pos + 16 <= size:
        if pos - start >= target:
            yield Chunk(path, header, start, pos, first)
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
    yield Chunk(path, header, start, size, first)


def _pcapng_chunks(path: str, handle: BinaryIO, size: int, target: int) -> Iterator[Chunk]:
    header = b""
    endian = "<"
    start, frame, first, pos = 0, 0, 1, 0
    block, block_at = memoryview(b""), 0

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
            yield Chunk(path, header, start, pos, first)
            start, first = pos, frame + 1
        elif offset == 0:  # a block longer than a read: over it here
            if length < 12 or length % 4 or pos + length > size:
                break
            frame += block_type in (2, 3, 6)
            pos += length
    yield Chunk(path, header, start, size, first)


def chunks(paths: Iterable[str | Path], target: int | None = None) -> Iterator[Chunk]:
    """Chunks of about ``target`` bytes, at frame boundaries, in file order (lazily:
    the first chunks go to work while the rest of the file is still being cut)."""
    target = target or CHUNK_BYTES
    for path in map(str, paths):
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            magic = handle.read(4)
            if size < 24 or magic not in (*PCAP_MAGIC_US, *PCAP_MAGIC_NS, PCAPNG_SHB):
                # not a capture, or empty: one chunk, whose reader says what is wrong
                yield Chunk(path, b"", 0, size, 1)
                continue
            if magic == PCAPNG_SHB:
                yield from _pcapng_chunks(path, handle, size, target)
            else:
                yield from _pcap_chunks(path, handle, size, target)


@dataclass
class ChunkResult:
    findings: list[Finding]
    events: Events
    activity: dict[str, Activity]
    stats: DecodeStats


def inspect_chunk(chunk: Chunk, policy: Policy, pseudonym: Pseudonymiser) -> ChunkResult:
    """Decode one chunk (:mod:`.batch`) and run the first stage of screening on it."""
    batch = decode_chunk(chunk.path, chunk.header, chunk.start, chunk.end, chunk.first_frame)
    inspector = Inspector(policy, pseudonym)
    findings, events = inspector.inspect_batch(batch)
    return ChunkResult(findings, events, inspector.activity, batch.stats)


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


def in_parallel(
    function: Callable[[Chunk], _T], work: Iterable[Chunk], workers: int
) -> Iterator[_T]:
    """``function`` of each chunk, on ``workers`` processes, results in chunk order
    (at most ``2 x workers`` chunks in flight).  The workers start with the first
    ``next()`` (see :func:`_worker_context`)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=_worker_context()) as pool:
        yield from _in_order(lambda chunk: pool.submit(function, chunk), work, 2 * workers)


@dataclass
class Scan:
    """A screening run; iterate :meth:`findings`, then read the counters."""

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

    def findings(self, paths: list[Path]) -> Iterator[Finding]:
        for batch in self.batches(paths):
            yield from batch

    def batches(self, paths: list[Path]) -> Iterator[list[Finding]]:
        """The findings a chunk at a time, in order (cheaper to handle than one by one)."""
        if self.dask:
            yield from self._distributed(paths)
        elif self.workers > 1:
            yield from self._parallel(paths)
        else:
            yield from self._serial(paths)

    def _serial(self, paths: list[Path]) -> Iterator[list[Finding]]:
        work, sizes = _sized(chunks(paths))
        results = (inspect_chunk(chunk, self.policy, self.pseudonym) for chunk in work)
        yield from self._merge(results, sizes)

    def _merge(
        self, results: Iterable[ChunkResult], sizes: Iterator[int]
    ) -> Iterator[list[Finding]]:
        tracker = Tracker(self.policy)
        done = 0
        for result in results:
            found = result.findings
            found.extend(tracker.apply(result.events))
            merge_activity(self.activity, result.activity)
            self.tally.add_all(found)
            bound_sources(self.activity, self.tally, self.untracked)
            self.stats.merge(result.stats)
            done += next(sizes, 0)
            if self.on_progress:
                self.on_progress(done)
            yield found
        found = tracker.finish()
        self.tally.add_all(found)
        bound_sources(self.activity, self.tally, self.untracked)
        yield found
        self.undecided = tracker.undecided

    def _parallel(self, paths: list[Path]) -> Iterator[list[Finding]]:
        work, sizes = _sized(chunks(paths))
        inspect = partial(inspect_chunk, policy=self.policy, pseudonym=self.pseudonym)
        yield from self._merge(in_parallel(inspect, work, self.workers), sizes)

    def _distributed(self, paths: list[Path]) -> Iterator[list[Finding]]:
        from distributed import Client

        work, sizes = _sized(chunks([p.resolve() for p in paths]))
        with Client(self.dask) as client:  # type: ignore[no-untyped-call]
            window = 2 * max(1, sum(client.nthreads().values()))
            policy, pseudonym = client.scatter([self.policy, self.pseudonym], broadcast=True)
            results = _in_order(
                lambda c: client.submit(inspect_chunk, c, policy, pseudonym, pure=False),
                work,
                window,
            )
            yield from self._merge(results, sizes)


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
