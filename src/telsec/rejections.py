"""Counting what a reader could not use: every reader reports rows read, rows
rejected per reason, and notes (rows kept but worth telling the user about)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Rejections:
    """Rows read and rows rejected, per reason."""

    read: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    #: kept, but the user should know (re-encoded lines, truncated bodies, ...)
    notes: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, count: int = 1) -> None:
        if count:
            self.rejected[reason] += count

    def merge(self, other: Rejections) -> None:
        self.read += other.read
        self.rejected.update(other.rejected)
        self.notes.update(other.notes)

    @property
    def kept(self) -> int:
        return self.read - sum(self.rejected.values())
