"""Sanity check of the benchmark corpus (not part of the timed path).

Parses a sample of generated objects with ``stix2.parse(o, allow_custom=True)``,
checks determinism and prints the type mix, TLP mix and average JSON size::

    .venv/bin/python bench/check_objects.py --count 20000 --sample 2000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter

import orjson
import stix2

from objects import MARKING_TO_TLP, TYPE_SHARES, generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000, help="objects to generate")
    parser.add_argument("--sample", type=int, default=2000, help="objects to parse with stix2")
    parser.add_argument("--seed", type=int, default=20251123)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    objs = list(generate(args.count, args.seed))
    gen_seconds = time.perf_counter() - started
    sizes = [len(orjson.dumps(o)) for o in objs]

    again = list(generate(min(args.count, 500), args.seed))
    if again != objs[: len(again)]:
        print("FAIL: generator is not deterministic", file=sys.stderr)
        return 1

    picker = random.Random(1)
    sample = picker.sample(objs, k=min(args.sample, len(objs)))
    failures = 0
    for obj in sample:
        try:
            stix2.parse(obj, allow_custom=True)
        except Exception as exc:  # report every failing object, then fail
            failures += 1
            print(f"FAIL {obj['id']}: {exc}", file=sys.stderr)

    ids = {o["id"] for o in objs}
    dangling = 0
    for obj in objs:
        refs = [obj.get("source_ref"), obj.get("target_ref"), obj.get("sighting_of_ref")]
        refs += obj.get("object_refs", []) + obj.get("where_sighted_refs", [])
        dangling += sum(1 for r in refs if r is not None and r not in ids)

    types = Counter(o["type"] for o in objs)
    markings = Counter(
        MARKING_TO_TLP[o["object_marking_refs"][0]].display
        if o.get("object_marking_refs")
        else "(unmarked)"
        for o in objs
    )
    print(
        f"generated {len(objs)} objects in {gen_seconds:.2f} s "
        f"({len(objs) / gen_seconds:,.0f} objects/s)"
    )
    print(f"average size {sum(sizes) / len(sizes):,.0f} B, min {min(sizes)}, max {max(sizes)}")
    for stix_type, n in types.most_common():
        print(
            f"  {stix_type:15} {n:7} ({n / len(objs):5.1%}, expected {TYPE_SHARES[stix_type]:5.1%})"
        )
    for mark, n in markings.most_common():
        print(f"  {mark:17} {n:7} ({n / len(objs):5.1%})")
    print(f"dangling references: {dangling}")
    print(f"stix2.parse: {len(sample) - failures}/{len(sample)} passed")
    return 1 if failures or dangling else 0


if __name__ == "__main__":
    sys.exit(main())
