"""The demo's signalling report: telsec's own analyser output, not hand-written.

A UK provider (Albion Mobile, the generator's home network) screens a day of
its generated interconnect traffic (every attack scenario interleaved) with
its policy and reports the result to Ofcom, exactly as ``telsec signalling
scan --publish uk-reports --tlp amber`` would.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from telsec.privacy import Pseudonymiser
from telsec.signalling.generate import HOME, demo_policy, write_capture
from telsec.signalling.pipeline import Scan
from telsec.signalling.policy import parse_policy
from telsec.signalling.report import SourceSummary, stix_bundle, summarise
from telsec.stix.tlp import Tlp

PRODUCER = HOME.name
COLLECTION = "uk-reports"
MESSAGES = 20_000
#: The demo's own key: its pseudonyms match nothing outside the demo.
DEMO_KEY = b"telsec demo pseudonym key, not for real data"


def signalling_sources(anchor_us: int) -> list[SourceSummary]:
    """The scan's sources; the traffic ends about a day before ``anchor_us``."""
    start = anchor_us / 1e6 - 2 * 86400
    policy = parse_policy(demo_policy())
    with tempfile.TemporaryDirectory(prefix="telsec-demo-") as folder:
        capture = Path(folder) / "albion-interconnect.pcap"
        with capture.open("wb") as out, (Path(folder) / "labels.jsonl").open("wb") as labels:
            write_capture(out, labels, "all", MESSAGES, seed=2025, start=start)
        scan = Scan(policy, Pseudonymiser(DEMO_KEY))
        scan.run([capture])  # the per-source counts, no findings kept
    return summarise(scan.activity, scan.tally, policy)


def signalling_report(anchor_us: int, sources: list[SourceSummary]) -> list[dict[str, Any]]:
    """STIX objects of the scan (``sources`` from :func:`signalling_sources`)."""
    bundle = stix_bundle(
        sources,
        Tlp.AMBER,
        producer=PRODUCER,
        scanned=f"{PRODUCER} interconnect capture (generated, {MESSAGES:,} messages)",
        now=anchor_us - 86400 * 1_000_000,
        namespace="demo/signalling",
    )
    objects: list[dict[str, Any]] = bundle["objects"]
    return objects
