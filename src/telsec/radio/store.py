"""Where a scan's observations live: the checked, de-duplicated rows, in memory
while they are few and in Parquet files on disk beyond, so that a scan's memory
is bounded by its chunk size whatever the size of its input.

What stays in memory for every observation is 16 bytes: a 128-bit hash of the
row (two independent 64-bit row hashes), against which later rows are checked
for repeats.  Two different rows share a 128-bit hash with a probability of
about n^2 / 2^129: 1e-22 for a hundred million rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

from telsec.radio.schema import (
    CLEAN_CHUNK_ROWS,
    OBSERVATION_SCHEMA,
    RATS,
    Rejections,
    check_observations,
    conform,
    slices,
)

#: Rows held in memory before the store spills to disk (about 90 bytes each).
SPILL_ROWS = 2_000_000
#: The columns that place an observer: what the airborne check reads.
FIX_COLUMNS = ("source", "time", "lat", "lon")


def floor_column(rat: str) -> str:
    """The column of :meth:`ObservationStore.fixes` with the weakest signal of
    technology ``rat`` reported at each fix."""
    return f"floor_{rat}"


class ObservationStore:
    """Checked observations, each kept once, readable again chunk by chunk.

    ``add`` takes rows that passed the row checks; ``chunks`` gives them back in
    the order added.  Rows beyond ``memory_rows`` go to Parquet files in a
    temporary folder (under ``directory``, else the system's), removed by
    ``close`` (or leaving a ``with`` block)."""

    def __init__(
        self,
        counts: Rejections | None = None,
        *,
        memory_rows: int = SPILL_ROWS,
        directory: Path | None = None,
    ) -> None:
        self.counts = counts if counts is not None else Rejections()
        self.memory_rows = memory_rows
        self.height = 0
        self._directory = directory
        self._memory: list[pl.DataFrame] = []
        self._files: list[Path] = []
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._seen_h1 = np.empty(0, dtype=np.uint64)
        self._seen_h2 = np.empty(0, dtype=np.uint64)

    @classmethod
    def of(cls, frame: pl.DataFrame) -> ObservationStore:
        """A store over ``frame`` as it is (already cleaned: no duplicate check)."""
        store = cls(memory_rows=max(frame.height, 1))
        store._keep(frame)
        return store

    @property
    def spilled(self) -> bool:
        return bool(self._files)

    def add(self, checked: pl.DataFrame, counts: Rejections | None = None) -> None:
        """Keep the rows of ``checked`` that repeat no row kept before (nor an
        earlier row of ``checked``); the repeats are counted as rejected, in
        ``counts`` if given (a file's), else in the store's."""
        if checked.is_empty():
            return
        fresh = self._unseen(conform(checked, OBSERVATION_SCHEMA), counts or self.counts)
        self._keep(fresh)

    def _unseen(self, frame: pl.DataFrame, counts: Rejections) -> pl.DataFrame:
        h1 = frame.hash_rows(seed=0).to_numpy()
        h2 = frame.hash_rows(seed=1).to_numpy()
        # sorted by h1 (stable: a repeat follows its first), repeats are neighbours,
        # and the binary searches into the earlier rows' sorted hashes run in order
        order = np.argsort(h1, kind="stable")
        s1, s2 = h1[order], h2[order]
        repeat = np.zeros(frame.height, dtype=bool)
        repeat[1:] = (s1[1:] == s1[:-1]) & (s2[1:] == s2[:-1])
        if self._seen_h1.size:
            at = np.minimum(np.searchsorted(self._seen_h1, s1), self._seen_h1.size - 1)
            repeat |= (self._seen_h1[at] == s1) & (self._seen_h2[at] == s2)
        counts.add("duplicate row", int(repeat.sum()))
        self._remember(s1[~repeat], s2[~repeat])
        if not repeat.any():
            return frame
        keep = np.ones(frame.height, dtype=bool)
        keep[order[repeat]] = False
        return frame.filter(pl.Series(keep))

    def _remember(self, h1: np.ndarray, h2: np.ndarray) -> None:
        """Merge new hashes (sorted by ``h1``) into the earlier ones (sorted too)."""
        position = np.searchsorted(self._seen_h1, h1) + np.arange(h1.size)
        earlier = np.ones(self._seen_h1.size + h1.size, dtype=bool)
        earlier[position] = False
        for name, new in (("_seen_h1", h1), ("_seen_h2", h2)):
            merged = np.empty(earlier.size, dtype=np.uint64)
            merged[position] = new
            merged[earlier] = getattr(self, name)
            setattr(self, name, merged)

    def _keep(self, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        self.height += frame.height
        if not self._files and self.height <= self.memory_rows:
            self._memory.append(frame)
            return
        for held in self._memory:
            self._spill(held)
        self._memory = []
        self._spill(frame)

    def _spill(self, frame: pl.DataFrame) -> None:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="telsec-radio-", dir=self._directory)
        path = Path(self._folder.name) / f"part-{len(self._files):05d}.parquet"
        frame.write_parquet(path, compression="lz4", statistics=False)
        self._files.append(path)

    def chunks(self, rows: int) -> Iterator[pl.DataFrame]:
        """The observations, at most ``rows`` at a time, in the order added."""
        for frame in self._memory:
            for start in range(0, frame.height, rows):
                yield frame.slice(start, rows)
        for path in self._files:
            frame = pl.read_parquet(path)
            for start in range(0, frame.height, rows):
                yield frame.slice(start, rows)

    def fixes(self) -> pl.DataFrame:
        """Every distinct observer fix (source, time, lat, lon) and, for each radio
        technology, the weakest signal of that technology reported at it
        (``floor_gsm``, ``floor_lte``, ...: :func:`floor_column`; null where it
        reported none).  Each technology has its own floor: a phone lists the
        loudest cells of the technologies it measures, and an LTE RSRP reads 20 to
        30 dB below a GSM RSSI of the same power.  A fix is shared by all the cells
        heard at it, so there are several times fewer than rows; the floors are
        32-bit (a tenth of a dB is all a reading holds)."""
        floors = [floor_column(rat) for rat in RATS]
        parts = [
            chunk.group_by(FIX_COLUMNS).agg(
                pl.col("signal").filter(pl.col("rat") == rat).min().cast(pl.Float32).alias(name)
                for rat, name in zip(RATS, floors, strict=True)
            )
            for chunk in self.chunks(1_000_000)
        ]
        if not parts:
            return pl.DataFrame(
                schema={
                    **{k: OBSERVATION_SCHEMA[k] for k in FIX_COLUMNS},
                    **dict.fromkeys(floors, pl.Float32),
                }
            )
        return pl.concat(parts).group_by(FIX_COLUMNS).agg(pl.col(floors).min())

    def frame(self) -> pl.DataFrame:
        """Every observation in one frame (reads the spilled ones back)."""
        parts = list(self.chunks(max(self.height, 1)))
        return pl.concat(parts) if parts else pl.DataFrame(schema=OBSERVATION_SCHEMA)

    def close(self) -> None:
        self._memory = []
        self._seen_h1 = self._seen_h2 = np.empty(0, dtype=np.uint64)
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None
        self._files = []

    def __enter__(self) -> ObservationStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def clean_observations(
    frame: pl.DataFrame, counts: Rejections, *, chunk_rows: int = CLEAN_CHUNK_ROWS
) -> pl.DataFrame:
    """``frame`` conformed to :data:`OBSERVATION_SCHEMA`, without impossible rows
    or repeated ones (each counted), checked ``chunk_rows`` at a time (checking
    makes copies): an in-memory store's contents."""
    with ObservationStore(counts, memory_rows=max(frame.height, 1)) as store:
        for chunk in slices(frame, chunk_rows):
            store.add(check_observations(chunk, counts))
        return store.frame()
