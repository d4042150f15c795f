"""Smishing that links to bare IP addresses, so as to have no domain to block:
the address is infrastructure like a domain (it joins clusters, names the
campaign, is blocklisted and shared as an ipv4-addr/ipv6-addr indicator)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow.parquet as pq
import pytest
import stix2
from stix2patterns.validator import run_validator

from telsec.fraud.campaigns import find_campaigns, summarise
from telsec.fraud.classify import classify_reports
from telsec.fraud.records import Ingest, link_addresses, read_reports
from telsec.fraud.report import stix_bundle
from telsec.privacy import Pseudonymiser
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate

TELSEC = [sys.executable, "-m", "telsec.cli.main", "fraud"]
DAY = 86_400
START = 1_790_812_800  # 2026-10-01T00:00Z

#: Two wordings that share no text, only the address they link to.
PARCEL = (
    "Royal Mail: your parcel {n} is held, a £1.99 fee is due. Pay at http://203.0.113.9/pay/{n}",
    "Final notice: settle your outstanding delivery charge today to avoid return "
    "203.0.113.9/login?ref={n}",
)
BANK = "Your bank account is locked. Verify your identity now at https://[2001:DB8::7]:8443/v/{n}"


def ip_link_reports() -> list[dict[str, Any]]:
    rows = []
    for i in range(60):
        text = PARCEL[i % 2] if i < 40 else BANK
        rows.append({
            "reporter": f"+4474009{i:05d}", "reporting_network": "Albion Mobile",
            "reported_at": START + i * DAY / 10, "body": text.format(n=f"K{i:03d}X"),
            # each wording its own senders: only the address ties the two together
            "sender": f"+4479110{i % 2 + 2 * (i // 40)}{i % 7:04d}",
        })  # fmt: skip
    for i in range(40):  # ordinary texts around them
        rows.append({
            "reporter": f"+4475009{i:05d}", "reporting_network": "Thames Telecom",
            "reported_at": START + i * DAY / 8, "sender": f"+44792200{i:04d}",
            "body": f"see you at the station at {i % 12 + 1} then, bring the tickets",
        })  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ip-links") / "reports.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in ip_link_reports()))
    return path


@pytest.fixture(scope="module")
def campaigns(report_file: Path) -> list[dict[str, Any]]:
    reports = read_reports(report_file, Ingest(Pseudonymiser(b"test-key-0123456789")))
    return [c for c in summarise(find_campaigns(classify_reports(reports))) if c["ip_addresses"]]


def test_the_address_joins_wordings_and_names_the_campaign(
    campaigns: list[dict[str, Any]],
) -> None:
    parcel = next(c for c in campaigns if c["ip_addresses"] == ["203.0.113.9"])
    assert parcel["reports"] == 40 and parcel["templates"] == 2  # both wordings, one campaign
    assert parcel["domains"] == [] and parcel["name"].endswith("via 203.0.113.9")
    bank = next(c for c in campaigns if c["ip_addresses"] == ["2001:db8::7"])  # canonical form
    assert bank["reports"] == 20 and bank["category"] != "ham"
    assert parcel["id"] != bank["id"]


def test_addresses_are_shared_as_ip_indicators(campaigns: list[dict[str, Any]]) -> None:
    bundle = stix_bundle(campaigns, Tlp.GREEN, producer="Albion Mobile")
    for obj in bundle["objects"]:
        validate(obj)
    stix2.parse(bundle, allow_custom=True)
    patterns = {o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"}
    assert "[ipv4-addr:value = '203.0.113.9']" in patterns
    assert "[ipv6-addr:value = '2001:db8::7']" in patterns
    assert all(run_validator(p) == [] for p in patterns)
    addresses = {o["value"] for o in bundle["objects"] if o["type"] in ("ipv4-addr", "ipv6-addr")}
    assert addresses == {"203.0.113.9", "2001:db8::7"}
    assert not any(o["type"] == "domain-name" for o in bundle["objects"])


def test_the_blocklist_has_the_addresses(report_file: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TELSEC_DATA_DIR": str(tmp_path / "data")}
    listed = subprocess.run([*TELSEC, "blocklist", str(report_file)], capture_output=True, env=env)
    assert listed.returncode == 0, listed.stderr
    rows = pl.read_csv(listed.stdout)
    ips = rows.filter(pl.col("kind") == "ip")
    assert sorted(ips["value"].to_list()) == ["2001:db8::7", "203.0.113.9"]
    urls = rows.filter(pl.col("kind") == "url")["value"].to_list()
    assert "http://203.0.113.9/pay/K000X" in urls


def test_a_file_ingested_before_addresses_were_kept_still_reads(
    report_file: Path, tmp_path: Path
) -> None:
    """An ingested Parquet file from a telsec that did not keep ``ip_addresses``:
    they are read off its URLs, and its campaigns are those of the reports."""
    env = {**os.environ, "TELSEC_DATA_DIR": str(tmp_path / "data")}
    fresh = tmp_path / "fresh.parquet"
    done = subprocess.run([*TELSEC, "ingest", str(report_file), "-f", "parquet", "-o", str(fresh)],
                          capture_output=True, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pq.read_table(fresh)
    older = tmp_path / "older.parquet"
    pq.write_table(table.drop_columns(["ip_addresses"]), older)

    def campaigns_of(path: Path) -> list[dict[str, Any]]:
        done = subprocess.run([*TELSEC, "campaigns", str(path), "-f", "jsonl"],
                              capture_output=True, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [orjson.loads(line) for line in done.stdout.splitlines()]

    now, before = campaigns_of(fresh), campaigns_of(older)
    assert before == now and {a for c in now for a in c["ip_addresses"]} == {
        "203.0.113.9", "2001:db8::7",
    }  # fmt: skip


def test_link_addresses_reads_what_ingest_keeps() -> None:
    assert link_addresses(
        ["http://198.51.100.4/x", "198.51.100.4/y", "https://a.example.com/"]
    ) == ["198.51.100.4"]
    assert link_addresses(None) == [] and link_addresses(["http://999.1.2.3/"]) == []
