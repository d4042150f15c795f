"""Reports to classified reports on every core.

Ingest (decoding, pseudonymising, extracting: about 50 us a report) and
classification (about 250 us a distinct template) are what a million reports
cost; both run in worker processes:

* the main process only cuts the input into chunks (``CHUNK`` lines of JSONL
  as bytes, or parsed CSV rows, since a quoted CSV field may span lines) and
  keeps at most two chunks per worker in flight, so memory does not grow with
  the file;
* each worker ingests its chunk and sends back an Arrow table and its counts;
  the tables are put back together in input order;
* distinct templates are scored in as many slices as there are workers.

Workers are spawned, not forked (Polars' threads do not survive a fork), so a
script that calls these with more than one worker needs Python's
``if __name__ == "__main__":`` guard (the ``telsec`` command has it).  An
input smaller than ``PARALLEL_FROM`` bytes is read in-process: starting the
workers costs about a second.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from telsec.fraud.records import (
    FORMATS,
    Ingest,
    ReaderError,
    csv_rows,
    decode,
    detect_format,
    frame,
    ingest_rows,
    jsonl_rows,
    raw_lines,
    read_reports,
)
from telsec.rejections import Rejections

CHUNK = 25_000
PARALLEL_FROM = 16 << 20
#: Fewer distinct templates than this are scored in-process.
PARALLEL_TEMPLATES = 20_000

_worker_ingest: Ingest | None = None


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def _start(ingest: Ingest) -> None:
    global _worker_ingest
    _worker_ingest = ingest


def _ingest_chunk(kind: str, items: list[Any]) -> tuple[Any, Rejections]:
    """In a worker: a chunk of raw JSON lines (bytes) or CSV rows (dicts) ingested."""
    assert _worker_ingest is not None
    counts = Rejections()
    _worker_ingest.counts = counts
    if kind == "jsonl":
        rows: Iterator[dict[str, Any]] = jsonl_rows((decode(r, counts) for r in items), counts)
    else:
        rows = iter(items)
    return ingest_rows(rows, _worker_ingest).to_arrow(), counts


def _chunks(path: Path, kind: str, counts: Rejections) -> Iterator[list[Any]]:
    items: Iterator[Any] = raw_lines(path, counts) if kind == "jsonl" else csv_rows(path, counts)
    while chunk := list(islice(items, CHUNK)):
        yield chunk


def read_reports_parallel(
    path: Path,
    ingest: Ingest,
    input_format: str | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pl.DataFrame:
    """:func:`telsec.fraud.records.read_reports` on ``workers`` processes (all
    cores by default); the same rows in the same order, the same counts.
    ``progress`` is called with the bytes of input read so far."""
    workers = workers or default_workers()
    kind = input_format or detect_format(path)
    if kind not in FORMATS:
        raise ReaderError(f"unknown input format {kind!r}: {', '.join(FORMATS)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    if workers < 2 or size < PARALLEL_FROM:
        return read_reports(path, ingest, kind)
    parts: list[pl.DataFrame] = []
    done = 0
    context = get_context("spawn")
    with ProcessPoolExecutor(workers, context, initializer=_start, initargs=(ingest,)) as pool:
        pending: deque[Future[tuple[Any, Rejections]]] = deque()

        def collect() -> None:
            table, counts = pending.popleft().result()
            ingest.counts.merge(counts)
            parts.append(pl.DataFrame(pl.from_arrow(table)))

        try:
            for chunk in _chunks(path, kind, ingest.counts):
                pending.append(pool.submit(_ingest_chunk, kind, chunk))
                if kind == "jsonl":
                    done += sum(len(line) for line in chunk)
                    if progress:
                        progress(done)
                while len(pending) >= 2 * workers:
                    collect()
            while pending:
                collect()
        except OSError as exc:
            raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
    if progress:
        progress(size)
    return pl.concat(parts) if parts else frame([])


def _score(templates: list[str]) -> tuple[list[str], np.ndarray, list[str | None]]:
    """In a worker: labels, confidences and languages of a slice of templates."""
    from telsec.fraud.classify import score_templates

    return score_templates(templates)


def score_parallel(
    templates: list[str], workers: int | None = None
) -> tuple[list[str], np.ndarray, list[str | None]]:
    """:func:`telsec.fraud.classify.score_templates` over ``workers`` processes."""
    from telsec.fraud.classify import score_templates

    workers = workers or default_workers()
    if workers < 2 or len(templates) < PARALLEL_TEMPLATES:
        return score_templates(templates)
    step = -(-len(templates) // workers)
    slices = [templates[i : i + step] for i in range(0, len(templates), step)]
    with ProcessPoolExecutor(workers, get_context("spawn")) as pool:
        results = list(pool.map(_score, slices))
    labels = [label for result in results for label in result[0]]
    confidence = np.concatenate([result[1] for result in results])
    languages = [lang for result in results for lang in result[2]]
    return labels, confidence, languages
