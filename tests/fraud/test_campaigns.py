"""Campaigns against the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from telsec.fraud.campaigns import (
    campaign_category,
    find_campaigns,
    link_blasters,
    link_signalling,
    summarise,
)
from telsec.fraud.classify import classify_reports
from telsec.fraud.records import Ingest, read_reports
from telsec.fraud.simulate import BLASTER_ROUTE, BLASTER_START, LURES, simulate
from telsec.privacy import Pseudonymiser


def test_every_simulated_campaign_is_found_whole_and_pure(tmp_path: Path) -> None:
    rows, labels = simulate(6000, seed=4)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    reports = read_reports(path, Ingest(Pseudonymiser(b"test-key-0123456789")))
    found = find_campaigns(classify_reports(reports)).with_columns(
        pl.col("report_id").replace_strict(labels, default=None).fill_null("ham").alias("truth")
    )
    for lure in LURES:
        mine = found.filter(pl.col("truth") == lure.name)
        campaigns = mine["campaign"].unique().to_list()
        assert len(campaigns) == 1 and campaigns[0] >= 0, lure.name  # whole
        others = found.filter(pl.col("campaign") == campaigns[0], pl.col("truth") != lure.name)
        assert others.height == 0, lure.name  # pure
    summaries = summarise(found)
    parcel = next(c for c in summaries if "royalmail-track.info" in c["domains"])
    assert parcel["brands"][0] == "Royal Mail" and parcel["category"] == "smishing"
    assert parcel["templates"] > 1  # two wordings, joined by their domains
    cra = next(c for c in summaries if c["brands"] and c["brands"][0] == "CRA")
    assert set(cra["languages"]) == {"en", "fr"}  # its French wording is the same campaign
    # the blaster's reports, and the leased GT's
    alert = {"id": "lte:234-10:1:1", "track": [
        {"lat": lat, "lon": lon, "start": BLASTER_START, "end": BLASTER_START + 3600}
        for lat, lon in BLASTER_ROUTE
    ]}  # fmt: skip
    link_blasters(summaries, found, [alert])
    assert parcel["blasters"] and parcel["blasters"][0]["alert"] == "lte:234-10:1:1"
    assert all(not c["blasters"] for c in summaries if c is not parcel)
    link_signalling(summaries, [{"source": "40744123456", "verdict": "block"}])
    usps = next(c for c in summaries if c["brands"] and c["brands"][0] == "USPS")
    assert usps["global_titles"] == [{"global_title": "40744123456", "verdict": "block"}]


def test_a_campaign_takes_the_most_harmful_category_a_third_of_it_has() -> None:
    assert campaign_category({"ham": 262, "smishing": 241}, 0.3) == "smishing"
    assert campaign_category({"spam": 80, "smishing": 20}, 0.3) == "spam"
    assert campaign_category({"ham": 60, "scam": 40, "spam": 5}, 0.3) == "scam"
    assert campaign_category({"ham": 10}, 0.3) == "ham"
    assert campaign_category({}, 0.3) == "ham"
