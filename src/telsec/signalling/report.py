"""From findings to what an analyst acts on and shares.

* :func:`summarise`: one row per source (calling GT, or Diameter origin realm)
  with its country and operator, messages by FS.11 category, distinct
  subscribers targeted, the rules it broke and a verdict;
* :func:`blocklist_rows`: the sources to deny, for SS7/Diameter firewalls;
* :func:`stix_bundle`: a STIX 2.1 bundle to publish: the offending GT
  observables, an indicator per source, a sighting with counts, relationships
  to the FiGHT/MoTIF attack patterns, and a report that holds them together.
  Subscribers appear only as counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers

from telsec.signalling.findings import RULES
from telsec.signalling.geo import country_of, country_of_mcc
from telsec.signalling.policy import Policy
from telsec.signalling.rules import SEVERITY_ORDER, Activity, Tally, realm_plmn
from telsec.stix.build import Builder
from telsec.stix.ids import value_sco
from telsec.stix.telecom import global_title
from telsec.stix.timestamps import format_timestamp
from telsec.stix.tlp import Tlp

#: Verdicts, most serious first.
VERDICTS = ("block", "investigate", "watch", "ok")
#: Rules whose finding alone makes a source one to block.
BLOCKING_RULES = frozenset({"SIG-GT-DENY", "SIG-GT-LEASED"})


@dataclass
class SourceSummary:
    source: str
    kind: str  # "gt" | "realm"
    country: str | None
    operator: str | None
    first_seen: float
    last_seen: float
    messages: int
    categories: dict[str, int]
    subscribers: int
    subscribers_capped: bool
    point_codes: list[int]
    top_operations: list[str]
    findings: int = 0
    flagged_messages: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    severity: str | None = None
    techniques: list[str] = field(default_factory=list)
    verdict: str = "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "verdict": self.verdict,
            "severity": self.severity,
            "country": self.country,
            "operator": self.operator,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "messages": self.messages,
            "cat1": self.categories.get("cat1", 0),
            "cat2": self.categories.get("cat2", 0),
            "cat3": self.categories.get("cat3", 0),
            "other": self.categories.get("other", 0),
            "subscribers": (
                f">={self.subscribers}" if self.subscribers_capped else self.subscribers
            ),
            "findings": self.findings,
            "flagged_messages": self.flagged_messages,
            "rules": self.rules,
            "techniques": self.techniques,
            "point_codes": self.point_codes,
            "top_operations": self.top_operations,
        }


@lru_cache(maxsize=16384)
def _carrier(gt: str) -> str | None:
    from phonenumbers import carrier  # its data takes a while to load: only when asked

    try:
        name = carrier.name_for_number(phonenumbers.parse("+" + gt), "en")
    except phonenumbers.NumberParseException:
        return None
    return name or None


def _where(
    activity: Activity, policy: Policy, carriers: bool = True
) -> tuple[str | None, str | None]:
    """(country, operator) of a source: the policy's names first, then numbering
    data (unless ``carriers`` is false: libphonenumber's carrier data takes a while
    to load)."""
    if activity.kind == "gt":
        known = policy.operator_of_gt(activity.source)
        if known:
            return country_of(activity.source), known.name
        return country_of(activity.source), _carrier(activity.source) if carriers else None
    plmn = realm_plmn(activity.source)
    known = policy.operator_of_realm(activity.source)
    return (
        country_of_mcc(plmn[:3]) if plmn else None,
        known.name if known else (f"PLMN {plmn}" if plmn else None),
    )


def _verdict(summary: SourceSummary, policy: Policy) -> str:
    if not summary.findings:
        return "ok"
    if summary.severity == "critical" or BLOCKING_RULES & summary.rules.keys():
        return "block"
    if summary.severity == "high":
        known = (
            policy.operator_of_gt(summary.source)
            if summary.kind == "gt"
            else policy.operator_of_realm(summary.source)
        )
        # a partner's address may be spoofed: block the operations, not the partner
        return "investigate" if known else "block"
    return "watch"


_SEVERITY_NAMES = {rank: name for name, rank in SEVERITY_ORDER.items()}


def summarise(
    activity: dict[str, Activity], tally: Tally, policy: Policy, *, carriers: bool = True
) -> list[SourceSummary]:
    """One summary per source, most serious first; ``carriers=False`` leaves out
    the operator names that only numbering data gives (for callers that show none)."""
    out = []
    for source, act in activity.items():
        country, operator = _where(act, policy, carriers)
        summary = SourceSummary(
            source=source,
            kind=act.kind,
            country=country,
            operator=operator,
            first_seen=act.first_seen,
            last_seen=act.last_seen,
            messages=act.messages,
            categories=dict(act.categories),
            subscribers=len(act.subscribers),
            subscribers_capped=act.subscribers_capped,
            point_codes=sorted(act.point_codes),
            top_operations=[name for name, _ in act.operations.most_common(3)],
        )
        found = tally.sources.get(source)
        if found and found.findings:
            summary.findings = found.findings
            summary.flagged_messages = len(found.frames) + found.overflow
            summary.rules = dict(found.rules.most_common())
            summary.severity = _SEVERITY_NAMES[found.severity]
            summary.techniques = sorted({t for rule in found.rules for t in RULES[rule].techniques})
        summary.verdict = _verdict(summary, policy)
        out.append(summary)
    out.sort(key=lambda s: (VERDICTS.index(s.verdict), -s.findings, -s.messages, s.source))
    return out


BLOCKLIST_COLUMNS = (
    "source", "kind", "action", "verdict", "severity", "rules", "first_seen", "last_seen",
    "messages", "subscribers", "country", "operator",
)  # fmt: skip


def blocklist_rows(
    summaries: Iterable[SourceSummary], verdicts: Iterable[str] = ("block",)
) -> list[dict[str, Any]]:
    """Rows for a firewall deny list: the sources whose verdict is in ``verdicts``."""
    wanted = set(verdicts)
    return [
        {
            "source": s.source,
            "kind": s.kind,
            "action": "deny" if s.verdict == "block" else "screen",
            "verdict": s.verdict,
            "severity": s.severity,
            "rules": " ".join(s.rules),
            "first_seen": format_timestamp(int(s.first_seen * 1e6)),
            "last_seen": format_timestamp(int(s.last_seen * 1e6)),
            "messages": s.messages,
            "subscribers": s.subscribers,
            "country": s.country or "",
            "operator": s.operator or "",
        }
        for s in summaries
        if s.verdict in wanted
    ]


# -- STIX -----------------------------------------------------------------------------

_CONFIDENCE = {"block": 85, "investigate": 60, "watch": 40}


def _observable(summary: SourceSummary) -> tuple[dict[str, Any], str]:
    """The source as an SCO, and a STIX pattern that matches it."""
    if summary.kind == "gt":
        sco = global_title(summary.source, operator=summary.operator)
        return sco, f"[global-title:digits = '{summary.source}']"
    return dict(value_sco("domain-name", summary.source)), (
        f"[domain-name:value = '{summary.source}']"
    )


def _describe(summary: SourceSummary) -> str:
    where = ", ".join(x for x in (summary.operator, summary.country) if x) or "unknown network"
    categories = ", ".join(
        f"{summary.categories.get(c, 0):,} {label}"
        for c, label in (("cat1", "FS.11 cat. 1"), ("cat2", "cat. 2"), ("cat3", "cat. 3"))
        if summary.categories.get(c)
    )
    rules = "; ".join(f"{RULES[r].title} ({n:,})" for r, n in summary.rules.items())
    return (
        f"{'Global Title' if summary.kind == 'gt' else 'Diameter realm'} {summary.source} "
        f"({where}) sent {summary.messages:,} screened messages"
        f"{' (' + categories + ')' if categories else ''} about "
        f"{summary.subscribers:,}{'+' if summary.subscribers_capped else ''} distinct "
        f"subscribers. Rules broken: {rules}. Verdict: {summary.verdict}."
    )


def stix_bundle(
    summaries: Iterable[SourceSummary],
    tlp: Tlp,
    *,
    producer: str | None = None,
    scanned: str = "signalling captures",
    verdicts: Iterable[str] = ("block", "investigate", "watch"),
    now: int | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """A STIX 2.1 bundle of the flagged sources, every object marked ``tlp``.

    With ``producer`` (a member organisation's name) the objects are created by
    its identity and each source's indicator has a stable id, so a later scan
    adds a new version and new sightings rather than a second indicator.
    With ``namespace`` every id is derived from it (the same scan gives the
    same objects: the demo data set loads once)."""
    build = Builder(tlp, producer, namespace, now)
    wanted = set(verdicts)
    objects: list[dict[str, Any]] = []
    flagged = 0
    for summary in summaries:
        if summary.verdict not in wanted:
            continue
        flagged += 1
        sco, pattern = _observable(summary)
        first = format_timestamp(int(summary.first_seen * 1e6))
        last = format_timestamp(int(summary.last_seen * 1e6))
        key = f"{producer}/signalling/{summary.kind}/{summary.source}"
        observed = build.sdo(
            "observed-data",
            build.new_id("observed-data", key),
            first_observed=first,
            last_observed=last,
            number_observed=max(1, summary.flagged_messages),
            object_refs=[sco["id"]],
        )
        indicator = build.sdo(
            "indicator",
            build.stable_id("indicator", f"signalling/{summary.kind}/{summary.source}"),
            name=f"Signalling misuse from {summary.source} ({summary.verdict})",
            description=_describe(summary),
            indicator_types=(
                ["malicious-activity"] if summary.verdict == "block" else ["anomalous-activity"]
            ),
            pattern=pattern,
            pattern_type="stix",
            valid_from=first,
            confidence=_CONFIDENCE[summary.verdict],
            labels=sorted(summary.rules),
        )
        sighting = build.sdo(
            "sighting",
            build.new_id("sighting", key),
            sighting_of_ref=indicator["id"],
            first_seen=first,
            last_seen=last,
            count=min(summary.flagged_messages, 999_999_999),
            observed_data_refs=[observed["id"]],
            description=(
                f"{summary.findings:,} findings over {summary.flagged_messages:,} messages; "
                f"{summary.subscribers:,} distinct subscribers targeted."
            ),
        )
        if build.producer_id:
            sighting["where_sighted_refs"] = [build.producer_id]
        objects += [sco, observed, indicator, sighting]
        objects += build.indicates(indicator["id"], summary.techniques, key)
    return build.bundle(
        objects,
        f"Signalling screening of {scanned}: {flagged} sources flagged",
        "Global Titles and Diameter realms that broke the FS.11/FS.19 screening rules of "
        "telsec, with counts. Subscribers are not identified.",
        ["threat-report", "indicator"],
        scanned,
    )
