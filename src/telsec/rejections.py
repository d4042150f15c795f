"""Counting what a reader could not use: every reader reports rows read, rows
rejected per reason, and notes (rows kept but worth telling the user about)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson


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


def json_objects(
    lines: Iterable[bytes | str],
    counts: Rejections,
    not_json: str = "line that is not JSON",
    not_object: str = "line that is not a JSON object",
) -> Iterator[dict[str, Any]]:
    """The JSON objects of JSON lines, blank lines skipped; each other line is
    read and rejected with its reason (the objects are counted by the caller,
    which may reject some of them in turn)."""
    for line in lines:
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            counts.read += 1
            counts.add(not_json)
            continue
        if not isinstance(item, dict):
            counts.read += 1
            counts.add(not_object)
            continue
        yield item
