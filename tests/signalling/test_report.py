"""Per-source summaries, the firewall blocklist and the STIX report, down to a real hub."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
import stix2

from telsec.privacy import Pseudonymiser
from telsec.signalling.findings import RULES
from telsec.signalling.generate import HOME, LEASED, PARTNERS, ROGUE, demo_policy, write_capture
from telsec.signalling.pipeline import Scan
from telsec.signalling.policy import parse_policy
from telsec.signalling.report import blocklist_rows, stix_bundle, summarise
from telsec.signalling.rules import Tally
from telsec.stix.techniques import technique_by_external_id
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate
from tests.interop.hub import cli_env, start_hub

KEY = Pseudonymiser(b"a shared coalition key, 32 bytes")
POLICY = parse_policy(demo_policy())
TELSEC = [sys.executable, "-m", "telsec.cli.main"]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("report")
    pcap = folder / "all.pcap"
    with pcap.open("wb") as out, (folder / "labels.jsonl").open("wb") as labels:
        write_capture(out, labels, "all", 8000, seed=5)
    (folder / "policy.toml").write_text(demo_policy())
    scan = Scan(POLICY, KEY)
    findings = list(scan.findings([pcap]))
    tally = Tally()
    tally.add_all(findings)
    assert scan.tally == tally  # the scan counts every finding it hands out
    return folder, pcap, findings, summarise(scan.activity, scan.tally, POLICY)


def test_every_rule_points_at_techniques_that_exist() -> None:
    for rule in RULES.values():
        for external_id in rule.techniques:
            assert technique_by_external_id(external_id), (rule.id, external_id)


def test_summaries_name_the_misbehaving_sources(scanned) -> None:
    _, _, findings, summaries = scanned
    by_source = {s.source: s for s in summaries}
    leased = [s for s in summaries if s.source.startswith(LEASED.gt_prefix)]
    assert leased and all(s.verdict == "block" and s.country == "LI" for s in leased)
    assert all("SIG-GT-LEASED" in s.rules for s in leased)
    rogue_realm = by_source[ROGUE.realm]
    assert rogue_realm.kind == "realm" and rogue_realm.verdict == "block"
    assert rogue_realm.country == "KH"
    scanner = by_source[ROGUE.gt(7)]  # the gt-scan source
    assert scanner.subscribers >= 5 and "SIG-FAN-OUT" in scanner.rules
    # partners' SMS centres were spoofed: screen them, don't cut the partner off
    smscs = [by_source[p.smsc] for p in PARTNERS]
    assert {s.verdict for s in smscs} == {"investigate"} | {s.verdict for s in smscs if not s.rules}
    assert all(s.rules.keys() == {"SIG-GT-POINT-CODE"} for s in smscs if s.rules)
    # benign partner nodes are seen and clean
    assert by_source[PARTNERS[0].hlr].verdict == "ok"
    assert not any(s.source.startswith(HOME.gt_prefix) for s in summaries)
    # the counts add up: a source's findings are the findings that name it
    assert sum(s.findings for s in summaries) == sum(1 for f in findings if f.source)
    for s in summaries:
        assert s.messages == sum(s.categories.values())


def test_the_stix_report_is_valid_and_identifies_no_subscriber(scanned) -> None:
    _, _, _, summaries = scanned
    bundle = stix_bundle(summaries, Tlp.AMBER, producer="Ofcom", scanned="all.pcap")
    objects = bundle["objects"]
    for obj in objects:
        validate(obj)
    stix2.parse(bundle, allow_custom=True)  # the reference library agrees
    types = {o["type"] for o in objects}
    assert {"global-title", "domain-name", "indicator", "sighting", "observed-data",
            "relationship", "report"} <= types  # fmt: skip
    ids = {o["id"] for o in objects}
    report = next(o for o in objects if o["type"] == "report")
    assert set(report["object_refs"]) == ids - {report["id"]}
    for sighting in (o for o in objects if o["type"] == "sighting"):
        assert sighting["sighting_of_ref"] in ids and sighting["count"] >= 1
    for rel in (o for o in objects if o["type"] == "relationship"):
        assert rel["relationship_type"] == "indicates" and rel["target_ref"].startswith(
            "attack-pattern--"
        )
    assert all(o.get("object_marking_refs") == [Tlp.AMBER.marking_id]
               for o in objects if o["type"] not in ("global-title", "domain-name"))  # fmt: skip
    text = orjson.dumps(bundle).decode()
    assert HOME.mcc + HOME.mnc not in text  # no home IMSI
    assert "447700" not in text  # no home MSISDN
    # stable indicator ids: a second scan updates the same indicators
    again = stix_bundle(summaries, Tlp.AMBER, producer="Ofcom")
    first = {o["id"] for o in objects if o["type"] == "indicator"}
    assert first == {o["id"] for o in again["objects"] if o["type"] == "indicator"}


def test_blocklist_lists_sources_to_deny_not_partners(scanned) -> None:
    folder, pcap, _, summaries = scanned
    done = subprocess.run(
        [*TELSEC, "signalling", "blocklist", str(pcap), "--policy", str(folder / "policy.toml")],
        capture_output=True,
        env=cli_env_for(folder),
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert rows == [{k: str(v) for k, v in row.items()} for row in blocklist_rows(summaries)]
    listed = {row["source"] for row in rows}
    assert ROGUE.realm in listed and any(s.startswith(LEASED.gt_prefix) for s in listed)
    assert not any(s.startswith((HOME.gt_prefix, *(p.gt_prefix for p in PARTNERS))) for s in listed)
    assert {row["action"] for row in rows} == {"deny"}


def cli_env_for(folder: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("TELSEC_")}
    env["TELSEC_DATA_DIR"] = str(folder / "data")
    env["TELSEC_PSEUDONYM_KEY"] = "a shared coalition key, 32 bytes"
    return env


def test_scan_publishes_to_a_hub_and_tlp_holds(scanned, sqlite_database, tmp_path) -> None:
    from taxii2client.v21 import Server

    from tests.conftest import build_coalition

    folder, pcap, _, _ = scanned
    coalition = build_coalition(sqlite_database)
    hub = start_hub(sqlite_database, tmp_path / "hub.log")
    try:
        token = coalition.token("Ofcom")
        env = cli_env(sqlite_database, TELSEC_TOKEN=token, TELSEC_URL=hub.url)
        done = subprocess.run(
            [*TELSEC, "signalling", "scan", str(pcap), "--policy", str(folder / "policy.toml"),
             "--view", "sources", "-f", "jsonl", "--publish", "shared", "--tlp", "amber",
             "--producer", "Ofcom"],
            capture_output=True,
            env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert b"rejected" not in done.stderr.replace(b"0 rejected", b"")
        flagged = [
            row for row in map(orjson.loads, done.stdout.splitlines()) if row["verdict"] != "ok"
        ]

        def indicators(org: str) -> list[dict]:
            server = Server(hub.discovery, user=None, password=None,
                            auth=_Bearer(coalition.token(org, "reader")))  # fmt: skip
            out = []
            for root in server.api_roots:
                for collection in root.collections:
                    if collection.can_read:
                        found = collection.get_objects(type="indicator").get("objects", [])
                        out.extend(found)
            return out

        seen = indicators("FCC")  # AMBER in a collection FCC reads: visible
        assert len(seen) == len(flagged) > 0
        assert indicators("NCSC-NZ") == []  # no grant: nothing
        # RED: only the producer sees it
        red = subprocess.run(
            [*TELSEC, "signalling", "scan", str(pcap), "--policy", str(folder / "policy.toml"),
             "--view", "sources", "-f", "jsonl", "--publish", "shared", "--tlp", "red"],
            capture_output=True,
            env=env,
        )  # fmt: skip
        assert red.returncode == 0, red.stderr
        assert len(indicators("FCC")) == len(flagged)
        assert len(indicators("Ofcom")) == 2 * len(flagged)
    finally:
        hub.stop()


class _Bearer:
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def test_publish_without_tlp_is_a_usage_error(scanned) -> None:
    folder, pcap, _, _ = scanned
    done = subprocess.run(
        [*TELSEC, "signalling", "scan", str(pcap), "--policy", str(folder / "policy.toml"),
         "--publish", "shared"],
        capture_output=True,
        env=cli_env_for(folder),
    )  # fmt: skip
    assert done.returncode == 2 and b"--tlp" in done.stderr and b"Traceback" not in done.stderr


def test_distinct_subscribers_are_counted_exactly_up_to_the_cap(monkeypatch) -> None:
    """A source's distinct subscribers are exact below the cap, and "at least the
    cap" from it on, however they arrive: repeated, per message, per chunk."""
    from telsec.signalling import rules

    monkeypatch.setattr(rules, "MAX_SUBSCRIBERS_PER_SOURCE", 5)

    def activity() -> rules.Activity:
        return rules.Activity("447700900001", "gt", 0.0, 0.0)

    below = activity()
    below.add_subscribers([1, 2, 2, 3, 1])
    below.add(1.0, "cat1", "anyTimeInterrogation", 7, 4)
    assert (below.subscribers, below.subscribers_capped) == ({1, 2, 3, 4}, False)

    at_cap = activity()
    at_cap.add_subscribers([1, 1, 2, 3, 4, 5, 6, 7])  # the first five distinct
    assert (at_cap.subscribers, at_cap.subscribers_capped) == ({1, 2, 3, 4, 5}, True)
    at_cap.add(2.0, "cat1", "anyTimeInterrogation", 7, 99)
    assert len(at_cap.subscribers) == 5

    merged = activity()
    for chunk in ([1, 2], [2, 3], [3, 4]):
        part = activity()
        part.add_subscribers(chunk)
        merged.merge(part)
    assert (merged.subscribers, merged.subscribers_capped) == ({1, 2, 3, 4}, False)
    merged.merge(at_cap)
    assert len(merged.subscribers) == 5 and merged.subscribers_capped
    summary = summarise({"447700900001": merged}, Tally(), POLICY)[0]
    assert summary.as_dict()["subscribers"] == ">=5"


def test_operators_come_from_the_policy_then_from_numbering_data(scanned) -> None:
    """A partner is named as the policy names it; a GT the policy does not know,
    by libphonenumber's carrier data (Cambodia's 855 12: Cellcard), unless the
    caller shows no operator names and skips loading that data."""
    _, pcap, _, summaries = scanned
    by_source = {s.source: s for s in summaries}
    assert by_source[PARTNERS[0].hlr].operator == PARTNERS[0].name
    assert by_source[ROGUE.gt(7)].operator == "Cellcard"
    scan = Scan(POLICY, KEY)
    list(scan.findings([pcap]))
    bare = {s.source: s for s in summarise(scan.activity, scan.tally, POLICY, carriers=False)}
    assert bare[PARTNERS[0].hlr].operator == PARTNERS[0].name
    assert bare[ROGUE.gt(7)].operator is None
    assert [s.verdict for s in bare.values()] == [s.verdict for s in summaries]


def test_the_per_source_summary_is_bounded_and_keeps_sources_with_findings(
    scanned, monkeypatch
) -> None:
    """A capture of more sources than the summary keeps (spoofed calling GTs, one
    per message, would make one per message): those without findings go first,
    and what they sent is still counted."""
    from telsec.signalling import rules

    _, pcap, findings, summaries = scanned
    flagged = [s for s in summaries if s.findings]
    bound = len(flagged) + 4
    assert len(summaries) > bound + 10  # the capture has more sources than that
    monkeypatch.setattr(rules, "MAX_SOURCES", bound)
    scan = Scan(POLICY, KEY)
    assert len(list(scan.findings([pcap]))) == len(findings)
    assert len(scan.activity) <= bound
    assert scan.tally.sources.keys() <= scan.activity.keys()
    assert {s.source for s in flagged} <= scan.activity.keys()  # none with findings dropped
    assert len(scan.activity) + scan.untracked.sources == len(summaries)
    everything = sum(s.messages for s in summaries)
    kept = sum(a.messages for a in scan.activity.values())
    assert kept + scan.untracked.messages == everything
    assert scan.tally.total == len(findings)
    again = {s.source: s for s in summarise(scan.activity, scan.tally, POLICY)}
    for s in flagged:
        assert (again[s.source].findings, again[s.source].verdict) == (s.findings, s.verdict)


def test_sources_with_findings_go_only_when_they_alone_pass_the_bound(monkeypatch) -> None:
    from telsec.signalling import rules
    from telsec.signalling.findings import Evidence, finding

    monkeypatch.setattr(rules, "MAX_SOURCES", 6)
    activity = {f"gt{n:02d}": rules.Activity(f"gt{n:02d}", "gt", 0.0, 0.0, 100 - n)
                for n in range(15)}  # fmt: skip
    tally = Tally()
    for n in range(10):  # gt00 ... gt09 have findings
        tally.add(finding("SIG-CAT1", Evidence(n, 0.0, f"gt{n:02d}", None, "op", None), "d"))
    untracked = rules.Untracked()
    assert rules.bound_sources(activity, tally, untracked)
    # none without findings is left; of those with, the 5 (9/10 of 6) that sent most
    assert sorted(activity) == ["gt00", "gt01", "gt02", "gt03", "gt04"]
    assert sorted(tally.sources) == sorted(activity) and tally.total == 10
    assert (untracked.sources, untracked.messages) == (10, sum(100 - n for n in range(5, 15)))
    assert not rules.bound_sources(activity, tally, untracked)  # within the bound: nothing


def test_flagged_frames_are_remembered_up_to_a_bound_then_added_up(monkeypatch) -> None:
    """Distinct flagged frames per source, exactly while the tally holds fewer than
    its bound in all; past it each finding's frames are added up instead."""
    from telsec.signalling import rules
    from telsec.signalling.findings import Evidence, finding

    monkeypatch.setattr(rules, "MAX_TALLIED_FRAMES", 4)
    tally = Tally()
    for frame, gt in [(1, "a"), (1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "a"), (5, "a")]:
        tally.add(finding("SIG-CAT1", Evidence(frame, 0.0, gt, None, "op", None), "d"))
    a, b = tally.sources["a"], tally.sources["b"]
    assert (sorted(a.frames), a.overflow, sorted(b.frames), b.overflow) == ([1, 3], 2, [2, 4], 0)
    assert tally.frames == 4
    summary = {s.source: s for s in summarise(
        {g: rules.Activity(g, "gt", 0.0, 0.0, 9) for g in "ab"}, tally, POLICY)}  # fmt: skip
    assert (summary["a"].flagged_messages, summary["b"].flagged_messages) == (4, 2)
