"""Objects per second: telsec.stix.validate.validate against stix2.parse.

Run from the repository root::

    .venv/bin/python bench/bench_validate.py [--count N] [--stix2-count M]

Both validators see the same objects (identity, relationship, indicator with a
simple pattern, ipv4-addr, each with a fresh id and value), decoded from JSON
by orjson as on the ingest path.  stix2 is slow, so it gets a smaller sample
by default; the rate is what matters.
"""

from __future__ import annotations

import argparse
import copy
import random
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import orjson
import stix2

from telsec.stix.validate import validate

CREATED = "2024-05-01T10:00:00.000Z"


def _identity(i: int) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{uuid.uuid4()}",
        "created": CREATED,
        "modified": CREATED,
        "name": f"Operator {i}",
        "identity_class": "organization",
        "sectors": ["telecommunications"],
    }


def _indicator(i: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": CREATED,
        "modified": CREATED,
        "name": f"Bad address {i}",
        "pattern": f"[ipv4-addr:value = '10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}']",
        "pattern_type": "stix",
        "valid_from": CREATED,
    }


def _relationship(i: int) -> dict[str, Any]:
    return {
        "type": "relationship",
        "spec_version": "2.1",
        "id": f"relationship--{uuid.uuid4()}",
        "created": CREATED,
        "modified": CREATED,
        "relationship_type": "indicates",
        "source_ref": f"indicator--{uuid.uuid4()}",
        "target_ref": f"malware--{uuid.uuid4()}",
    }


def _ipv4(i: int) -> dict[str, Any]:
    return {
        "type": "ipv4-addr",
        "spec_version": "2.1",
        "id": f"ipv4-addr--{uuid.uuid4()}",
        "value": f"198.51.{i >> 8 & 255}.{i & 255}",
    }


KINDS: dict[str, Callable[[int], dict[str, Any]]] = {
    "identity": _identity,
    "relationship": _relationship,
    "indicator": _indicator,
    "ipv4-addr": _ipv4,
}


def _objects(kind: str, count: int) -> list[dict[str, Any]]:
    make = KINDS[kind]
    # Round-trip through orjson so the objects are exactly what ingest sees.
    return [orjson.loads(orjson.dumps(make(i))) for i in range(count)]


def _rate(
    fn: Callable[[dict[str, Any]], object], objects: list[dict[str, Any]], repeat: int
) -> float:
    """Best of ``repeat`` passes, in objects per second of this process's CPU time.

    CPU time rather than wall time, so that other work on the machine skews the
    figures less; the best pass, so that one unlucky pass does not count.
    """
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for obj in objects:
            fn(obj)
        best = min(best, time.process_time() - start)
    return len(objects) / best


def _stix2_parse(obj: dict[str, Any]) -> object:
    return stix2.parse(obj, allow_custom=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="objects per kind for telsec")
    parser.add_argument("--stix2-count", type=int, default=2_000, help="objects per kind for stix2")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    print(f"{'kind':<14}{'telsec obj/s':>14}{'stix2 obj/s':>14}{'speed-up':>10}")
    mixed: list[dict[str, Any]] = []
    mixed_stix2: list[dict[str, Any]] = []
    for kind in KINDS:
        objects = _objects(kind, args.count)
        sample = copy.deepcopy(objects[: args.stix2_count])
        for obj in sample:  # same objects, and both agree they are valid
            validate(obj)
            _stix2_parse(obj)
        ours = _rate(validate, objects, args.repeat)
        theirs = _rate(_stix2_parse, sample, max(1, args.repeat // 2))
        print(f"{kind:<14}{ours:>14,.0f}{theirs:>14,.0f}{ours / theirs:>9.0f}x")
        mixed.extend(objects)
        mixed_stix2.extend(sample)
    random.Random(0).shuffle(mixed)
    ours = _rate(validate, mixed, args.repeat)
    theirs = _rate(_stix2_parse, mixed_stix2, max(1, args.repeat // 2))
    print(f"{'mixed':<14}{ours:>14,.0f}{theirs:>14,.0f}{ours / theirs:>9.0f}x")


if __name__ == "__main__":
    main()
