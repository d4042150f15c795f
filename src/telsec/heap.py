"""How telsec's long-running work uses Python's collector and glibc's heap.

Screening and serving allocate millions of short-lived containers and create
almost no reference cycles; Python's default collector settings (a collection
every 700 allocations, full collections walking every live object) spend a
tenth of their time on them.  This module holds the settings they share:

* :func:`settle_heap`: for a server, for good: what is alive at start-up is
  frozen out of collections and the youngest generation collected rarely;
* :func:`rare_collections`: for a job (a scan), while it runs, put back after;
* :func:`steady_heap`: for a worker process, glibc keeps the memory it frees.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations of container objects between two collections of the youngest
#: generation (Python's default is 700).
YOUNG_COLLECTION = 10_000

#: glibc's ``mallopt`` parameters: trim the heap only past this much free at its
#: top, and give allocations of up to this much from the heap, not from a fresh
#: mapping of their own.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def rarely_collect() -> tuple[int, int, int]:
    """Raise the youngest generation's collection threshold to at least
    :data:`YOUNG_COLLECTION`; the thresholds before."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_COLLECTION), before[1], before[2])
    return before


def settle_heap() -> None:
    """Keep the cyclic garbage collector off a server's request path.

    Everything alive when the server starts (modules, the STIX vocabulary,
    SQLAlchemy's metadata: some 100,000 objects) lives as long as the
    process.  Without this, every full collection walks all of it while a
    request waits: measured at 55 to 120 ms per pause, which was every slow
    page in the paging benchmark.  Frozen objects are never scanned again.

    The young generation is collected every :data:`YOUNG_COLLECTION`
    allocations: a 1,000-object POST allocates some 30,000 containers that live
    until its response, and at 700 each was scanned and promoted several times.
    Server CPU per ingested object fell by about a tenth (``bench/bench_taxii.py``,
    docs/benchmarks.md); a young collection of 10,000 objects takes well under
    a millisecond.
    """
    gc.collect()
    gc.freeze()
    rarely_collect()


@contextmanager
def rare_collections() -> Iterator[None]:
    """Collect reference cycles rarely while a job runs (a signalling scan).

    The objects that exist when it starts (the loaded program) are left out of
    collections: a full collection would walk them all, and one in a forked
    worker would touch, and so copy, every page of them.  The youngest
    generation is collected every :data:`YOUNG_COLLECTION` allocations.
    Screening the 1M-message benchmark capture on one core, the collector took
    0.19 s before, 0.03 s after (``docs/benchmarks.md``).  All is put back
    afterwards; objects frozen before (a server's :func:`settle_heap`) stay
    frozen (nothing is frozen or unfrozen then)."""
    before = rarely_collect()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.set_threshold(*before)


def steady_heap() -> None:
    """Let this worker process keep the memory it frees for the next chunk.

    Each chunk allocates and frees the same large arrays; by default glibc hands
    them back to the system and faults them in again, page by page, for the next
    chunk.  Screening the 1M-message benchmark capture with two workers, the worker
    processes took 112,000 page faults, and the screening 1.09 s; keeping up to
    64 MB freed (allocations of up to 16 MB from the heap), 32,000 and 0.93 s.
    Elsewhere than glibc, nothing changes."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    mallopt(_M_MMAP_THRESHOLD, 16 << 20)
