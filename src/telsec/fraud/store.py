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
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import polars as pl


class StoreError(ValueError):
    """A file cannot join the store (not a telsec reports file)."""


class ReportStore:
    """The parts of one command's reports, deleted when the store is closed
    (files the user gave are only read)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="telsec-fraud-"))
        self.parts: list[Path] = []
        self.rows = 0
        self._written = 0

    def next_path(self) -> Path:
        """Where the next part written by telsec goes."""
        self._written += 1
        return self.directory / f"part-{self._written:06d}.parquet"

    def add(self, path: Path, rows: int) -> None:
        """A part, after those before it."""
        if rows:
            self.parts.append(path)
            self.rows += rows

    def scan(self, columns: Sequence[str] | None = None) -> pl.LazyFrame:
        """Every part as one lazy frame (parts from other telsec versions may lack
        columns: those read as nulls)."""
        if not self.parts:
            return pl.LazyFrame()
        frames = [pl.scan_parquet(path) for path in self.parts]
        if columns is not None:
            frames = [frame.select(columns) for frame in frames]
        return pl.concat(frames, how="diagonal_relaxed")

    def frames(self, columns: Sequence[str] | None = None) -> Iterator[pl.DataFrame]:
        """The parts one at a time, in input order."""
        for path in self.parts:
            yield pl.read_parquet(path, columns=list(columns) if columns is not None else None)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> ReportStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
