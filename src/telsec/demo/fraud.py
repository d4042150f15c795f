"""The demo's fraud report: the campaigns telsec finds in a month of spam reports.

Ofcom runs ``telsec fraud campaigns`` over a month of simulated 7726 reports
that the five members pooled (every lure of :mod:`telsec.fraud.simulate`),
linked to the demo's own radio alerts and signalling findings, and shares
the result with the coalition, as ``--publish coalition-fraud --tlp green``
would.  The simulated Royal Mail campaign is pushed in part by the SMS
blaster that the radio demo detected (its reports are received along the
blaster's track, while it drives), and the USPS campaign comes through the
Global Titles the signalling demo flagged: the campaigns link to both.
"""

from __future__ import annotations

from typing import Any

from telsec.fraud.campaigns import find_campaigns, link_blasters, link_signalling, summarise
from telsec.fraud.classify import classify_reports
from telsec.fraud.records import Ingest, ingest_rows
from telsec.fraud.report import stix_bundle
from telsec.fraud.simulate import BLASTER_TRACK, LEASED_GTS, simulate
from telsec.privacy import Pseudonymiser
from telsec.signalling.report import SourceSummary
from telsec.stix.tlp import Tlp

PRODUCER = "Ofcom"
COLLECTION = "coalition-fraud"
REPORTS = 20_000
DEMO_KEY = b"telsec demo pseudonym key, not for real data"
DAY = 86400.0


def _blaster(alerts: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """The track of the radio alert seen in most time windows (the one that moves)."""
    tracked = [a for a in alerts if a.get("track")]
    if not tracked:
        return list(BLASTER_TRACK)
    alert = max(tracked, key=lambda a: len(a["track"]))
    return [(w["start"], w["lat"], w["lon"]) for w in alert["track"]]


def _leased(sources: list[SourceSummary]) -> list[str]:
    flagged = [s.source for s in sources if s.kind == "gt" and s.verdict == "block"]
    return flagged[:2] or list(LEASED_GTS)


def fraud_campaigns(
    anchor_us: int, alerts: list[dict[str, Any]], sources: list[SourceSummary]
) -> list[dict[str, Any]]:
    """The campaigns, linked; the month of reports ends about a day before ``anchor_us``."""
    start = anchor_us / 1e6 - 32 * DAY
    rows, _labels = simulate(
        REPORTS, seed=2025, start=start, blaster=_blaster(alerts), leased_gts=_leased(sources)
    )
    reports = ingest_rows(rows, Ingest(Pseudonymiser(DEMO_KEY)))
    reports = find_campaigns(classify_reports(reports))
    found = summarise(reports)
    link_blasters(found, reports, alerts)
    link_signalling(found, [s.as_dict() for s in sources])
    return found


def fraud_report(anchor_us: int, campaigns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """STIX objects of the campaigns (from :func:`fraud_campaigns`)."""
    bundle = stix_bundle(
        campaigns,
        Tlp.GREEN,
        producer=PRODUCER,
        scanned=f"the members' pooled 7726 reports (simulated, {REPORTS:,})",
        now=anchor_us - 86400 * 1_000_000,
        namespace="demo/fraud",
    )
    objects: list[dict[str, Any]] = bundle["objects"]
    return objects
