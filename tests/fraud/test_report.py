"""Fraud campaigns as STIX: valid for telsec and stix2, linked, shareable, and
accepted by a real hub."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
import stix2
from hypothesis import given
from hypothesis import strategies as st
from stix2patterns.validator import run_validator

from telsec.fraud.campaigns import find_campaigns, link_blasters, link_signalling, summarise
from telsec.fraud.classify import classify_reports
from telsec.fraud.records import Ingest, read_reports
from telsec.fraud.report import quote, stix_bundle
from telsec.fraud.simulate import BLASTER_ROUTE, BLASTER_START, simulate
from telsec.privacy import Pseudonymiser
from telsec.stix.ids import organisation_identity_id
from telsec.stix.telecom import cell_identity, global_title
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate
from tests.conftest import build_coalition
from tests.interop.hub import cli_env, start_hub

ALERT = {
    "id": "lte:234-10:4660:1234567",
    "rat": "lte",
    "mcc": 234,
    "mnc": 10,
    "area": 4660,
    "cell": 1234567,
    "track": [
        {"lat": lat, "lon": lon, "start": BLASTER_START, "end": BLASTER_START + 3600}
        for lat, lon in BLASTER_ROUTE
    ],
}


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    rows, _labels = simulate(4000, seed=9)
    path = tmp_path_factory.mktemp("fraud") / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    reports = find_campaigns(
        classify_reports(read_reports(path, Ingest(Pseudonymiser(b"test-key-0123456789"))))
    )
    found = summarise(reports)
    link_blasters(found, reports, [ALERT])
    link_signalling(found, [{"source": "40744123456", "verdict": "block"}])
    return found


def by_type(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        out.setdefault(obj["type"], []).append(obj)
    return out


@pytest.mark.parametrize("namespace", [None, "derived-ids"])
def test_bundle_is_valid_and_links_campaigns(
    campaigns: list[dict[str, Any]], namespace: str | None
) -> None:
    bundle = stix_bundle(
        campaigns, Tlp.AMBER, producer="Thames Telecom", scanned="r.jsonl", namespace=namespace
    )
    for obj in bundle["objects"]:
        validate(obj)
    stix2.parse(bundle, allow_custom=True)
    assert len({o["id"] for o in bundle["objects"]}) == len(bundle["objects"])
    typed = by_type(bundle["objects"])
    shared = [c for c in campaigns if c["category"] != "ham"]
    assert len(typed["campaign"]) == len(shared) >= 9
    assert all(c["created_by_ref"] == organisation_identity_id("Thames Telecom")
               for c in typed["campaign"])  # fmt: skip
    for indicator in typed["indicator"]:
        assert run_validator(indicator["pattern"]) == [], indicator["pattern"]
    patterns = {i["pattern"] for i in typed["indicator"]}
    assert "[domain-name:value = 'royalmail-track.info']" in patterns
    assert not any("domain-name:value = 'bit.ly'" in p for p in patterns)  # shorteners: URLs only
    assert any(p.startswith("[sms-sender:kind = 'e164'") for p in patterns)
    # every indicator indicates a campaign of the bundle
    campaign_ids = {c["id"] for c in typed["campaign"]}
    relations = typed["relationship"]
    indicated = {r["source_ref"] for r in relations if r["relationship_type"] == "indicates"}
    assert indicated == {i["id"] for i in typed["indicator"]}
    assert all(r["target_ref"] in campaign_ids
               for r in relations if r["relationship_type"] == "indicates")  # fmt: skip
    # the blaster's cell and the leased GT, as the same SCOs radio and signalling share
    cell = cell_identity("lte", 234, "10", tac=4660, eci=1234567)
    gt = global_title("40744123456")
    related = {r["target_ref"]: r for r in relations if r["relationship_type"] == "related-to"}
    assert set(related) == {cell["id"], gt["id"]}
    parcel = next(c for c in typed["campaign"] if "Royal Mail" in c["name"])
    assert related[cell["id"]]["source_ref"] == parcel["id"]
    uses = {r["target_ref"] for r in relations if r["source_ref"] == parcel["id"]}
    names = {a["id"]: a["name"] for a in typed["attack-pattern"]}
    assert {names[u] for u in uses if u in names} == {
        "Mobile phishing (smishing)",
        "False Base Station or Access Point",
    }
    # marking: TLP:AMBER on what the member shares, the vocabulary stays CLEAR
    for obj in bundle["objects"]:
        if obj["type"] in ("campaign", "indicator", "relationship", "report"):
            assert obj["object_marking_refs"] == [Tlp.AMBER.marking_id]


def test_volume_is_shared_as_a_sighting_per_day(campaigns: list[dict[str, Any]]) -> None:
    bundle = stix_bundle(campaigns, Tlp.GREEN, producer="Thames Telecom")
    typed = by_type(bundle["objects"])
    sightings: dict[str, list[dict[str, Any]]] = {}
    for sighting in typed["sighting"]:
        sightings.setdefault(sighting["sighting_of_ref"], []).append(sighting)
    assert set(sightings) == {c["id"] for c in typed["campaign"]}
    shared = [c for c in campaigns if c["category"] != "ham"]  # in the bundle's order
    for campaign, found in zip(typed["campaign"], shared, strict=True):
        assert campaign["name"] == found["name"]
        days = sightings[campaign["id"]]
        assert sum(s["count"] for s in days) == found["reports"]
        starts = [s["first_seen"] for s in days]
        assert len({s[:10] for s in starts}) == len(days)  # one per UTC day
        assert all(s["first_seen"][:10] == s["last_seen"][:10] for s in days)
        assert min(starts) == campaign["first_seen"]
        assert max(s["last_seen"] for s in days) == campaign["last_seen"]
        assert all(
            s["where_sighted_refs"] == [organisation_identity_id("Thames Telecom")] for s in days
        )
    again = stix_bundle(campaigns, Tlp.GREEN, producer="Thames Telecom")
    assert {s["id"] for s in typed["sighting"]} == {
        o["id"] for o in again["objects"] if o["type"] == "sighting"
    }


def test_shared_text_names_no_recipient(campaigns: list[dict[str, Any]]) -> None:
    """Descriptions carry templates, never the forwarded texts themselves."""
    bundle = stix_bundle(campaigns, Tlp.GREEN)
    descriptions = " ".join(c["description"] for c in by_type(bundle["objects"])["campaign"])
    assert "Template: " in descriptions and "<url>" in descriptions
    for campaign in campaigns:
        for body in campaign["examples"]:
            assert body not in descriptions


def test_ids_are_stable_for_a_producer(campaigns: list[dict[str, Any]]) -> None:
    first = stix_bundle(campaigns, Tlp.GREEN, producer="Thames Telecom")
    again = stix_bundle(campaigns, Tlp.GREEN, producer="Thames Telecom")
    ids = {o["id"] for o in first["objects"] if o["type"] in ("campaign", "indicator")}
    assert ids == {o["id"] for o in again["objects"] if o["type"] in ("campaign", "indicator")}


@given(st.text(max_size=60))
def test_quoted_values_make_valid_patterns(value: str) -> None:
    pattern = f"[url:value = {quote(value)}]"
    assert run_validator(pattern) == [], pattern


def test_campaigns_publish_to_a_hub(sqlite_database, tmp_path: Path) -> None:
    reports = tmp_path / "r.jsonl"
    env = {**os.environ, "TELSEC_DATA_DIR": str(tmp_path / "data")}
    telsec = [sys.executable, "-m", "telsec.cli.main", "fraud"]
    made = subprocess.run(
        [*telsec, "simulate", "--out", str(reports), "--reports", "2000"], capture_output=True
    )
    assert made.returncode == 0, made.stderr
    coalition = build_coalition(sqlite_database)
    hub = start_hub(sqlite_database, tmp_path / "hub.log")
    try:
        env = cli_env(sqlite_database, TELSEC_TOKEN=coalition.token("Ofcom"), TELSEC_URL=hub.url)
        env["TELSEC_DATA_DIR"] = str(tmp_path / "data")
        args = ["campaigns", str(reports), "-f", "jsonl", "--publish", "shared", "--tlp", "green"]
        done = subprocess.run(
            [*telsec, *args, "--bundle", str(tmp_path / "b.json")], capture_output=True, env=env
        )
        assert done.returncode == 0, done.stderr
        objects = orjson.loads((tmp_path / "b.json").read_bytes())["objects"]
        assert f"{len(objects)} stored, 0 rejected".encode() in done.stderr
        missing_tlp = subprocess.run([*telsec, *args[:-2]], capture_output=True, env=env)
        assert missing_tlp.returncode == 2 and b"--tlp" in missing_tlp.stderr
    finally:
        hub.stop()
