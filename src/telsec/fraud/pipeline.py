"""Report files into a :class:`~telsec.fraud.store.ReportStore`, ingested and
classified on every core.

Ingest (decoding, pseudonymising, extracting: about 50 us a report) and
classification (about 150 us a template not seen before) are what a million
reports cost; both run in worker processes, a chunk of ``CHUNK`` reports at a
time:

* the main process only cuts the input into chunks (``CHUNK`` lines of JSONL
  as bytes, or parsed CSV rows, since a quoted CSV field may span lines) and
  keeps at most two chunks per worker in flight;
* each worker ingests its chunk, classifies it (each process remembers the
  scores of up to ``CACHED_TEMPLATES`` templates, so a campaign's thousand
  copies cost one) and writes it as a Parquet part; the main process is sent
  back only the counts, and adds the parts to the store in input order.

Nothing grows with the input but the parts on disk.  A file smaller than
``PARALLEL_FROM`` bytes is ingested in-process (starting the workers costs
about a second) by the same code, chunk by chunk, so the parts are the same
whatever the number of workers.

Workers are spawned, not forked (Polars' threads do not survive a fork), so a
script that calls these with more than one worker needs Python's
``if __name__ == "__main__":`` guard (the ``telsec`` command has it).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl

from telsec.config import usable_cores
from telsec.fraud.campaigns import (
    Settings,
    assign_campaigns,
    template_campaigns,
    template_signatures,
)
from telsec.fraud.classify import TemplateScores, classify_reports
from telsec.fraud.records import (
    FORMATS,
    REPORT_SCHEMA,
    Ingest,
    ReaderError,
    csv_rows,
    decode,
    detect_format,
    ingest_rows,
    jsonl_rows,
    link_addresses,
    raw_lines,
)
from telsec.fraud.store import ReportStore, StoreError, write_part
from telsec.rejections import Rejections

CHUNK = 25_000
PARALLEL_FROM = 16 << 20
#: Templates whose scores a process remembers (then it starts again).
CACHED_TEMPLATES = 20_000


@dataclasses.dataclass
class _Process:
    """What one process keeps from chunk to chunk."""

    ingest: Ingest
    scores: TemplateScores = dataclasses.field(default_factory=dict)


_worker: _Process | None = None


def _start(ingest: Ingest) -> None:
    global _worker
    _worker = _Process(ingest)


def _ingest_part(
    process: _Process, kind: str, items: list[Any], paths: tuple[Path, Path]
) -> tuple[int, Rejections]:
    """A chunk of raw JSON lines (bytes) or CSV rows (dicts) ingested, classified
    and written to ``paths`` (the reports, their templates' signatures): the
    reports kept, and the counts."""
    counts = Rejections()
    process.ingest.counts = counts
    if kind == "jsonl":
        rows: Iterator[dict[str, Any]] = jsonl_rows((decode(r, counts) for r in items), counts)
    else:
        rows = iter(items)
    frame = ingest_rows(rows, process.ingest)
    if len(process.scores) > CACHED_TEMPLATES:
        process.scores.clear()
    classified = classify_reports(frame, scores=process.scores)
    _write(classified, paths)
    return classified.height, counts


def _write(reports: pl.DataFrame, paths: tuple[Path, Path]) -> None:
    """A part of reports and its templates' signatures."""
    if reports.height:
        write_part(reports, paths[0])
        templates = reports["template"].unique(maintain_order=True).to_list()
        write_part(template_signatures(templates), paths[1])


def _in_worker(kind: str, items: list[Any], paths: tuple[Path, Path]) -> tuple[int, Rejections]:
    assert _worker is not None
    return _ingest_part(_worker, kind, items, paths)


def _chunks(path: Path, kind: str, counts: Rejections) -> Iterator[list[Any]]:
    items: Iterator[Any] = raw_lines(path, counts) if kind == "jsonl" else csv_rows(path, counts)
    while chunk := list(islice(items, CHUNK)):
        yield chunk


class Ingester:
    """Adds report files to ``store``; bad rows are counted in ``ingest.counts``.
    Worker processes (``workers``, all cores by default) start with the first
    file large enough to need them and stop when the ingester is closed."""

    def __init__(self, ingest: Ingest, store: ReportStore, workers: int | None = None) -> None:
        self.ingest = ingest
        self.store = store
        self.workers = workers or usable_cores()
        self._here = _Process(dataclasses.replace(ingest, counts=Rejections()))
        self._pool: ProcessPoolExecutor | None = None

    def add(
        self,
        path: Path,
        input_format: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Ingest one file; the reports kept.  ``progress`` is called with the
        bytes of input read so far."""
        kind = input_format or detect_format(path)
        if kind not in FORMATS:
            raise ReaderError(f"unknown input format {kind!r}: {', '.join(FORMATS)}")
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
        before = self.store.rows
        pending: deque[tuple[tuple[Path, Path], Future[tuple[int, Rejections]]]] = deque()

        def keep(paths: tuple[Path, Path], rows: int, counts: Rejections) -> None:
            self.ingest.counts.merge(counts)
            self.store.add(paths[0], rows)
            self.store.add_templates(paths[1])

        def collect() -> None:
            paths, future = pending.popleft()
            keep(paths, *future.result())

        pool = self._start() if self.workers > 1 and size >= PARALLEL_FROM else None
        done = 0
        try:
            for chunk in _chunks(path, kind, self.ingest.counts):
                paths = self.store.next_paths()
                if pool is None:
                    keep(paths, *_ingest_part(self._here, kind, chunk, paths))
                else:
                    pending.append((paths, pool.submit(_in_worker, kind, chunk, paths)))
                    while len(pending) >= 2 * self.workers:
                        collect()
                if kind == "jsonl":
                    done += sum(len(line) for line in chunk)
                    if progress:
                        progress(done)
            while pending:
                collect()
        except OSError as exc:
            raise ReaderError(f"cannot read {path}: {exc.strerror or exc}") from None
        if progress:
            progress(size)
        return self.store.rows - before

    def add_ingested(self, path: Path) -> int:
        """Add a file ``telsec fraud ingest -f parquet`` wrote (read where it
        is); one with the report columns but not classified is classified a
        chunk at a time.  The reports added."""
        import pyarrow.parquet as pq

        try:
            handle = pq.ParquetFile(path)
            names = set(handle.schema_arrow.names)
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: not a telsec reports file ({exc})") from None
        missing = sorted(set(REPORT_SCHEMA) - names)
        # written before telsec kept the IP addresses of links: read from the URLs
        older = missing == ["ip_addresses"]
        if missing and not older:
            raise StoreError(f"{path}: not a telsec reports file (no {', '.join(missing)})")
        before = self.store.rows
        classified = "category" in names
        if classified and not older:  # read where it is; only its templates are written
            for batch in handle.iter_batches(CHUNK, columns=["template"]):
                templates = pl.Series(batch.column(0)).drop_nulls().unique(maintain_order=True)
                paths = self.store.next_paths()
                write_part(template_signatures(templates.to_list()), paths[1])
                self.store.add_templates(paths[1])
            self.store.add(path, int(handle.metadata.num_rows))
            return self.store.rows - before
        for batch in handle.iter_batches(CHUNK):
            frame = pl.DataFrame(pl.from_arrow(batch))
            if older:
                addresses = [link_addresses(urls) for urls in frame["urls"].to_list()]
                frame = frame.with_columns(
                    pl.Series("ip_addresses", addresses, dtype=pl.List(pl.String()))
                )
            reports = frame.select(list(REPORT_SCHEMA)).cast(pl.Schema(REPORT_SCHEMA))
            if classified:  # as this version's ingest writes it: the same columns, in order
                rest = [name for name in frame.columns if name not in REPORT_SCHEMA]
                reports = pl.concat([reports, frame.select(rest)], how="horizontal")
            else:
                reports = classify_reports(reports, scores=self._here.scores)
            paths = self.store.next_paths()
            _write(reports, paths)
            self.store.add(paths[0], reports.height)
            self.store.add_templates(paths[1])
        return self.store.rows - before

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, get_context("spawn"), initializer=_start, initargs=(self.ingest,)
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Ingester:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def stored_campaigns(store: ReportStore, settings: Settings | None = None) -> pl.LazyFrame:
    """The store's reports with their ``campaign``: the templates' campaigns are
    found over the parts (:func:`~telsec.fraud.campaigns.template_campaigns`),
    then written into them, a part at a time, with the keys the summaries
    count by (:func:`~telsec.fraud.campaigns.assign_campaigns`).  Every later
    query then reads numbers where it would join the reports to the campaigns
    and hash their texts; the streaming engine's memory grows with what it
    reads (docs/benchmarks.md, fraud)."""
    mapping = template_campaigns(store.scan(), store.signatures(), settings)
    store.rewrite(lambda part: assign_campaigns(part, mapping))
    return store.scan()
