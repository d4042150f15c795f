"""Ingested reports kept on disk, not in memory.

A million reports take about 1.5 GB as columns in memory; the commands that
read report files keep them instead as Parquet parts (about ``CHUNK`` reports
each, in input order) in a temporary directory (``TMPDIR``), and every later
step (campaigns, summaries, output) reads them back lazily or a part at a time.
Already ingested ``.parquet`` files join as parts of their own, read where
they are.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import polars as pl


class StoreError(ValueError):
    """A file cannot join the store (not a telsec reports file)."""


class SpillError(RuntimeError):
    """The parts cannot be written (no temporary directory, a full disk)."""


def _hint(exc: Exception) -> str:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if "(os error" in reason:  # Polars' words for an OSError: keep the system's part
        reason = reason.rsplit("IO error: ", 1)[-1].split(" (os error", 1)[0]
    return f"{reason}; set TMPDIR to a directory with room"


def write_part(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` (in a store's directory) as Parquet; a disk
    that is full or gone raises :class:`SpillError`."""
    try:
        frame.write_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SpillError(
            f"cannot write the ingested reports to {path.parent}: {_hint(exc)}"
        ) from None


#: Reports per part that :meth:`ReportStore.rewrite` writes.
REWRITE_ROWS = 50_000


class ReportStore:
    """The parts of one command's reports, deleted when the store is closed
    (files the user gave are only read)."""

    def __init__(self) -> None:
        try:
            self.directory = Path(tempfile.mkdtemp(prefix="telsec-fraud-"))
        except OSError as exc:
            raise SpillError(
                f"cannot make a directory for the ingested reports in "
                f"{tempfile.gettempdir()}: {_hint(exc)}"
            ) from None
        self.parts: list[Path] = []
        #: the distinct templates of the parts, with their signatures
        self.template_parts: list[Path] = []
        self.rows = 0
        self._written = 0

    def next_paths(self) -> tuple[Path, Path]:
        """Where the next part written by telsec goes, and its templates."""
        self._written += 1
        return (
            self.directory / f"part-{self._written:06d}.parquet",
            self.directory / f"templates-{self._written:06d}.parquet",
        )

    def add(self, path: Path, rows: int) -> None:
        """A part of ``rows`` reports, after those before it."""
        if rows:
            self.parts.append(path)
            self.rows += rows

    def add_templates(self, path: Path) -> None:
        """A file of templates' signatures
        (:func:`telsec.fraud.campaigns.template_signatures`), if one was written."""
        if path.exists():
            self.template_parts.append(path)

    def signatures(self) -> Iterator[pl.DataFrame]:
        """(template, signature) of the parts' templates, a part at a time (a
        template may be in more than one)."""
        for path in self.template_parts:
            yield pl.read_parquet(path)

    def scan(self, columns: Sequence[str] | None = None) -> pl.LazyFrame:
        """Every part as one lazy frame (parts from other telsec versions may lack
        columns: those read as nulls)."""
        if not self.parts:
            return pl.LazyFrame()
        frames = [pl.scan_parquet(path) for path in self.parts]
        if columns is not None:
            frames = [frame.select(columns) for frame in frames]
        return pl.concat(frames, how="diagonal_relaxed")

    def batches(self, rows: int = 50_000) -> Iterator[pl.DataFrame]:
        """The reports, ``rows`` at a time, in input order, each with the columns
        of the first part in its order."""
        import pyarrow.parquet as pq

        columns: list[str] | None = None
        for path in self.parts:
            handle = pq.ParquetFile(path)
            for batch in handle.iter_batches(rows):
                frame = pl.DataFrame(pl.from_arrow(batch))
                if columns is None:
                    columns = frame.columns
                yield frame.select(
                    pl.col(c) if c in frame.columns else pl.lit(None).alias(c) for c in columns
                )

    def rewrite(self, transform: Callable[[pl.LazyFrame], pl.LazyFrame]) -> None:
        """Replace each part by ``transform`` of it, ``REWRITE_ROWS`` reports at a
        time, into new parts in this store's directory (files the user gave are
        only read); the store's old parts are deleted.  A batch at a time, so that
        a large file the user gave is not held whole (streamed as one query, a
        million-report file took 840 MiB)."""
        written: list[Path] = []
        for path in self.parts:
            try:
                rows = pl.scan_parquet(path).select(pl.len()).collect().item()
                for start in range(0, rows, REWRITE_ROWS):
                    # a slice of the file is read, not the file (nor a PyArrow
                    # batch reader, whose memory pool kept 200 MiB of a 1M file)
                    batch = pl.scan_parquet(path).slice(start, REWRITE_ROWS)
                    target = self.next_paths()[0]
                    write_part(transform(batch).collect(), target)
                    written.append(target)
            except (OSError, pl.exceptions.PolarsError) as exc:
                raise SpillError(
                    f"cannot write the reports' campaigns to {self.directory}: {_hint(exc)}"
                ) from None
        for path in self.parts:
            if path.parent == self.directory:
                path.unlink(missing_ok=True)
        self.parts = written

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ReportStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
