"""Campaigns against the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest

from telsec.fraud.campaigns import (
    _slice,
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

KEY = b"test-key-0123456789"


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


def test_bands_join_transitively() -> None:
    """A and B agree on the first bands, B and C on the last: one cluster, found
    though the bands are joined one at a time; D shares A's first band but is
    not similar enough to join."""
    from telsec.fraud.campaigns import PERMUTATIONS, ROWS, _banded

    rng = np.random.default_rng(3)

    def random() -> np.ndarray:
        return rng.integers(0, 1 << 32, PERMUTATIONS, dtype=np.uint64).astype(np.uint32)

    a, b, c, d = random(), random(), random(), random()
    b[:40] = a[:40]  # A-B: 40 of 64
    c[32:] = b[32:]  # B-C: 32 of 64; A-C: 8 of 64
    d[:ROWS] = a[:ROWS]  # D-A: one band, 4 of 64
    sig = np.stack([a, b, c, d, random()])
    agree = (sig[:, None, :] == sig[None, :, :]).mean(axis=2)
    assert agree[0, 2] < 0.5 <= min(agree[0, 1], agree[1, 2])  # A-C only through B
    labels = _banded(sig)
    assert labels[0] == labels[1] == labels[2]
    assert len({labels[0], labels[3], labels[4]}) == 3


def test_on_disk_campaigns_are_in_memory_campaigns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's parts, read by the streaming engine a part at a time, and
    counted in several passes (a slice of the keys each), give the campaigns
    and summaries that the whole frame in memory gives in one."""
    from telsec.fraud import campaigns, pipeline
    from telsec.fraud.pipeline import Ingester
    from telsec.fraud.store import ReportStore

    monkeypatch.setattr(pipeline, "CHUNK", 500)
    monkeypatch.setattr(campaigns, "PASS_ROWS", 700)  # 6 passes
    passes = []
    monkeypatch.setattr(campaigns, "_slice", lambda k, i, n: passes.append(n) or _slice(k, i, n))
    rows, _ = simulate(4000, seed=8)
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    with ReportStore() as store, Ingester(Ingest(Pseudonymiser(KEY)), store, 1) as ingester:
        ingester.add(path)
        assert len(store.parts) == len(store.template_parts) == 8
        lazy = find_campaigns(store.scan(), store.signatures())
        assert isinstance(lazy, pl.LazyFrame)
        on_disk = summarise(lazy)
        whole = store.scan().collect()
    assert set(passes) == {6}  # the infrastructure (4,000 reports), and the summaries
    monkeypatch.setattr(campaigns, "PASS_ROWS", 2_000_000)
    found = find_campaigns(whole)
    in_memory = summarise(found)
    assert on_disk == in_memory and len(on_disk) >= 8
    usps = next(c for c in on_disk if c["brands"] and c["brands"][0] == "USPS")
    mine = found.filter(pl.col("campaign") == usps["campaign"])
    counts = (
        mine.select(pl.col("urls").explode()).group_by("urls").len().sort("len", descending=True)
    )
    reported = dict(counts.iter_rows())
    listed = [reported[url] for url in usps["urls"]]
    assert listed == sorted(listed, reverse=True) and listed[0] == counts["len"][0] > 1
    assert usps["reports"] == mine.height and usps["reporters"] == mine["reporter"].n_unique()
