"""Where a one-process signalling scan spends its time, stage by stage.

Not a test: it runs the stages of ``telsec signalling scan`` (one process, with its
garbage collector's settings) over the benchmark capture in this process, timing
each over the whole capture, and prints a table.  ``bench/bench_signalling.py``
makes the capture (1M messages, seed 9) the first time it runs.  From the repository
root, pinned to one core:

    taskset -c 1 .venv/bin/python bench/signalling_stages.py [--repeat 3]

The stages, as :class:`telsec.signalling.pipeline.Scan` and the ``scan``
command chain them: cutting the file into chunks, the compiled decoder (rows),
the per-message rules (:class:`~telsec.signalling.rules.Inspector`), the
stateful rules (:class:`~telsec.signalling._tracker.Tracker`), merging the
per-source activity, counting findings per source (:class:`~telsec.signalling.
report.Tally`) and writing their JSON lines (to /dev/null).  Start-up (imports)
and the per-source summary are not in it: time ``telsec signalling scan --help``
for the first.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

from telsec.heap import rare_collections
from telsec.privacy import Pseudonymiser
from telsec.signalling._tracker import Tracker
from telsec.signalling.batch import decode_chunk
from telsec.signalling.findings import finding_line, finding_order
from telsec.signalling.pipeline import chunks
from telsec.signalling.policy import load_policy
from telsec.signalling.report import Tally
from telsec.signalling.rules import Activity, Inspector, merge_activity

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
STAGES = ("cut", "decode", "inspect", "tracker", "activity", "tally", "json lines")


def run(capture: Path, policy_path: Path) -> tuple[dict[str, float], int]:
    """Seconds per stage over the whole capture, and the number of findings."""
    seconds: dict[str, float] = defaultdict(float)
    policy = load_policy(policy_path)
    pseudonym = Pseudonymiser(b"bench stages key, not a secret!!")
    tracker, activity, tally = Tracker(policy), dict[str, Activity](), Tally()
    found = 0
    with open("/dev/null", "wb") as sink, rare_collections():
        start = time.perf_counter()
        work = list(chunks([capture]))
        seconds["cut"] += time.perf_counter() - start
        for chunk in work:
            start = time.perf_counter()
            batch = decode_chunk(chunk.path, chunk.header, chunk.start, chunk.end,
                                 chunk.first_frame)  # fmt: skip
            decoded = time.perf_counter()
            inspector = Inspector(policy, pseudonym)
            findings, events = inspector.inspect_batch(batch)
            inspected = time.perf_counter()
            decided = tracker.apply(events)
            if len(events):
                decided.extend(tracker.advance(float(events.time.max())))
            findings.extend(sorted(decided, key=finding_order))
            tracked = time.perf_counter()
            merge_activity(activity, inspector.activity)
            merged = time.perf_counter()
            tally.add_all(findings)
            counted = time.perf_counter()
            for item in findings:
                sink.write(finding_line(item))
            written = time.perf_counter()
            seconds["decode"] += decoded - start
            seconds["inspect"] += inspected - decoded
            seconds["tracker"] += tracked - inspected
            seconds["activity"] += merged - tracked
            seconds["tally"] += counted - merged
            seconds["json lines"] += written - counted
            found += len(findings)
        start = time.perf_counter()
        found += len(tracker.finish())
        seconds["tracker"] += time.perf_counter() - start
    return dict(seconds), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, default=RESULTS / "signalling-1000000-9.pcap")
    parser.add_argument("--policy", type=Path, default=RESULTS / "signalling-policy.toml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.capture.exists():
        parser.error(f"{args.capture} is missing: run bench/bench_signalling.py once first")
    runs = [run(args.capture, args.policy) for _ in range(args.repeat)]
    print(f"{runs[0][1]:,} findings; median of {args.repeat} runs (min-max)")
    for stage in (*STAGES, "total"):
        values = [sum(r.values()) if stage == "total" else r[stage] for r, _ in runs]
        print(f"{stage:>12}  {statistics.median(values):6.3f} s"
              f"  ({min(values):.3f}-{max(values):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
