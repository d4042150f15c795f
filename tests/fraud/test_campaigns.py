"""Campaigns against the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telsec.fraud.campaigns import (
    Settings,
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


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """A simulated month of 6,000 reports, ingested, classified, in campaigns,
    with each report's true campaign in ``truth`` ("ham" for none)."""
    rows, labels = simulate(6000, seed=4)
    path = tmp_path_factory.mktemp("month") / "r.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    reports = read_reports(path, Ingest(Pseudonymiser(KEY)))
    found: pl.DataFrame = find_campaigns(classify_reports(reports)).with_columns(
        pl.col("report_id").replace_strict(labels, default=None).fill_null("ham").alias("truth")
    )
    return found


def test_every_simulated_campaign_is_found_whole_and_pure(month: pl.DataFrame) -> None:
    found = month
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
    # links to bare IP addresses: the addresses are its infrastructure, not a domain
    customs = next(c for c in summaries if "203.0.113.45" in c["ip_addresses"])
    assert set(customs["ip_addresses"]) == {"203.0.113.45", "198.51.100.23"}
    assert customs["domains"] == [] and customs["templates"] > 1
    assert customs["category"] == "smishing"
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


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
_POINT_KEYS = st.sampled_from(["lat", "lon", "start", "end", "time", "radius_m"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.text(max_size=8)},
            optional={
                "track": st.lists(
                    st.dictionaries(_POINT_KEYS, _JSON, max_size=6) | _JSON, max_size=4
                )
                | _JSON,
                "first_seen": _JSON,
                "last_seen": _JSON,
            },
        ),
        max_size=4,
    )
)
def test_alerts_someone_else_wrote_never_break_the_linking(month: pl.DataFrame, alerts) -> None:
    """``--blasters`` reads a file: a track point with values of any JSON type is
    left out, never a crash; a well-formed point among them still links."""
    summaries = [{"campaign": c} for c in month["campaign"].unique().to_list() if c >= 0]
    well_formed = {"id": "good", "track": [
        {"lat": lat, "lon": lon, "start": BLASTER_START, "end": BLASTER_START + 3600}
        for lat, lon in BLASTER_ROUTE
    ]}  # fmt: skip
    link_blasters(summaries, month, [*alerts, well_formed])
    links = [link for summary in summaries for link in summary["blasters"]]
    assert all(isinstance(link["reports"], int) and link["reports"] > 0 for link in links)
    assert any(link["alert"] == "good" for link in links)


def test_a_sender_seen_once_in_a_campaign_is_not_one_of_its_senders(month: pl.DataFrame) -> None:
    """Senders are blocklisted and shared as indicators: one report of a number in
    a campaign (a person's own text the model misread) does not make it one."""
    found = month

    def reports_of(campaign: dict, sender: str) -> int:
        mine = found.filter(pl.col("campaign") == campaign["campaign"])
        return mine.filter(pl.col("sender") == sender).height

    strict, loose = summarise(found), summarise(found, Settings(sender_reports=1))
    assert [c["campaign"] for c in strict] == [c["campaign"] for c in loose]
    assert all(reports_of(c, s) >= 2 for c in strict for s in c["senders"])
    dropped = [(c, s) for c in loose for s in c["senders"] if reports_of(c, s) == 1]
    assert dropped  # the simulated month has such numbers: the rule is what keeps them out
    for campaign, sender in dropped:
        assert (
            sender
            not in next(c for c in strict if c["campaign"] == campaign["campaign"])["senders"]
        )
    smishing = [c for c in strict if c["category"] == "smishing"]
    assert smishing and all(c["senders"] for c in smishing)  # the lures' own senders stay


def test_a_campaign_takes_the_most_harmful_category_a_third_of_it_has() -> None:
    assert campaign_category({"ham": 262, "smishing": 241}, 0.3) == "smishing"
    assert campaign_category({"spam": 80, "smishing": 20}, 0.3) == "spam"
    assert campaign_category({"ham": 60, "scam": 40, "spam": 5}, 0.3) == "scam"
    assert campaign_category({"ham": 10}, 0.3) == "ham"
    assert campaign_category({}, 0.3) == "ham"


def test_every_hash_function_spreads_its_16_bits_evenly() -> None:
    """A signature keeps 16 bits of each minimum, so each hash function's minima
    must be as random in their low bits as in their rank: over 20,000 unrelated
    texts, each function gives nearly as many distinct values as uniform 16-bit
    values would (the ``(a x + b) mod p`` functions used before gave as few as
    6,913 where 17,236 are expected: an even ``a`` fixes low bits)."""
    from telsec.fraud.campaigns import PERMUTATIONS, signatures

    rng = np.random.default_rng(2)
    texts = [
        " ".join(f"w{word}" for word in rng.integers(0, 50_000, rng.integers(5, 40)).tolist())
        for _ in range(20_000)
    ]
    sig = signatures(texts)
    assert sig.dtype == np.uint16 and sig.shape == (20_000, PERMUTATIONS)
    expected = 65_536 * (1 - np.exp(-20_000 / 65_536))  # distinct among uniform draws
    distinct = [len(np.unique(sig[:, k])) for k in range(PERMUTATIONS)]
    assert min(distinct) >= 0.97 * expected
    # unrelated texts agree about as often as chance and their few shared 3-grams make them
    pairs = rng.integers(0, len(texts), (5_000, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    assert (sig[pairs[:, 0]] == sig[pairs[:, 1]]).mean(axis=1).max() < 0.1


def test_signatures_estimate_the_jaccard_similarity_as_well_as_64_functions_can() -> None:
    """Pairs of texts sharing a known part: the share of agreeing values estimates
    their 3-gram sets' Jaccard similarity with the error MinHash allows, the
    square root of J(1-J)/64 on average (0.048 here).  The functions used before
    erred by 0.206: the 0.5 threshold that joins templates was a coin toss near it."""
    from telsec.fraud.campaigns import _shingles, signatures

    rng = np.random.default_rng(5)
    texts, true = [], []
    for _ in range(3_000):
        size = int(rng.integers(10, 60))
        base = [f"w{v}" for v in rng.integers(0, 10**6, size).tolist()]
        kept = int(rng.integers(0, size))
        other = base[:kept] + [f"x{v}" for v in rng.integers(0, 10**6, size - kept).tolist()]
        first, second = set(_shingles(" ".join(base))), set(_shingles(" ".join(other)))
        true.append(len(first & second) / len(first | second))
        texts += [" ".join(base), " ".join(other)]
    sig = signatures(texts)
    error = (sig[0::2] == sig[1::2]).mean(axis=1) - np.array(true)
    ideal = np.sqrt((np.array(true) * (1 - np.array(true)) / 64).mean())
    assert abs(error.mean()) < 0.01
    assert np.sqrt((error**2).mean()) < 1.2 * ideal


def test_bands_join_transitively() -> None:
    """A and B agree on the first bands, B and C on the last: one cluster, found
    though the bands are joined one at a time; D shares A's first band but is
    not similar enough to join."""
    from telsec.fraud.campaigns import PERMUTATIONS, ROWS, _banded

    rng = np.random.default_rng(3)

    def random() -> np.ndarray:
        return rng.integers(0, 1 << 16, PERMUTATIONS, dtype=np.uint32).astype(np.uint16)

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
    from telsec.fraud.pipeline import Ingester, stored_campaigns
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
        whole = store.scan().collect()
        given = list(store.parts)
        lazy = stored_campaigns(store)
        # the parts are rewritten with each report's campaign and the summaries' keys
        assert len(store.parts) == 8 and not set(store.parts) & set(given)
        assert not any(path.exists() for path in given)
        assert {"campaign", "template_key", "reporter_key"} <= set(lazy.collect_schema().names())
        on_disk = summarise(lazy)
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
