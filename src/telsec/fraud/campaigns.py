"""Campaigns: near-duplicate texts joined by the infrastructure they share.

1. Templates (texts with URLs, numbers, amounts and codes as placeholders) are
   near-duplicates when their word 3-gram sets are similar: MinHash signatures
   (``PERMUTATIONS`` hash functions, vectorised in NumPy) banded for LSH
   (``BANDS`` bands of ``ROWS`` rows: pairs above a Jaccard of about 0.5 collide);
   colliding pairs whose estimated similarity reaches ``SIMILARITY`` are joined.
2. Clusters that share a registrable domain (not a shortener), a URL, an E.164
   sender or a callback number, with activity within ``window`` of each other,
   are one campaign: the same people behind different wordings.  The sender
   of a text the model calls ham is not used (it may be a recycled number).
3. Each campaign is summarised: first and last seen, volume (in all and per
   UTC day), reporters,
   networks, senders, domains, brands, examples, and the SMS-blaster alerts and
   signalling findings it is linked to (:func:`link_blasters`, :func:`link_signalling`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from telsec.geo import haversine_m

PERMUTATIONS = 64
BANDS, ROWS = 16, 4
SIMILARITY = 0.5
_PRIME = (1 << 61) - 1
_NAMESPACE = uuid.UUID("6f0b8a52-3c1e-5d0a-9a57-7e1c2f4b9d10")


@dataclass(frozen=True)
class Settings:
    #: Clusters sharing infrastructure join when their activity is this close (s).
    window: float = 14 * 86400.0
    #: A campaign needs this many reports.
    min_reports: int = 3
    #: Examples kept per campaign.
    examples: int = 3
    #: A campaign takes the most harmful category that this share of its reports has.
    category_share: float = 0.3


#: Categories from the most to the least harmful.
SEVERITY = ("smishing", "scam", "spam", "ham")


def campaign_category(counts: dict[str, int], share: float) -> str:
    """The most harmful category at least ``share`` of the reports have: the model
    misreads some wordings of a lure (it has not seen them), and one wording of a
    campaign read as smishing makes the campaign smishing."""
    total = sum(counts.values())
    for category in SEVERITY:
        if total and counts.get(category, 0) >= share * total:
            return category
    return max(counts, key=lambda c: counts[c]) if counts else "ham"


def _shingles(text: str) -> list[int]:
    """Stable 64-bit hashes of the word 3-grams (Python's own hash is salted)."""
    words = text.split()
    if len(words) < 3:
        grams = [text] if text else []
    else:
        grams = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    return [
        int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") for g in grams
    ]


def signatures(templates: Sequence[str], seed: int = 7) -> np.ndarray:
    """(templates, PERMUTATIONS) MinHash signatures."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1 << 31, PERMUTATIONS, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, PERMUTATIONS, dtype=np.uint64)
    owners: list[int] = []
    values: list[int] = []
    for i, text in enumerate(templates):
        hashed = _shingles(text) or [0]
        values.extend(hashed)
        owners.extend([i] * len(hashed))
    x = np.array(values, dtype=np.uint64) & np.uint64(0xFFFFFFFF)
    owner = np.array(owners, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    out = np.empty((len(templates), PERMUTATIONS), dtype=np.uint64)
    for k in range(PERMUTATIONS):
        permuted = (a[k] * x + b[k]) % np.uint64(_PRIME)
        out[:, k] = np.minimum.reduceat(permuted, starts)
    return out


def _components(count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(count, count))
    return np.asarray(connected_components(graph, directed=False)[1])


def near_duplicates(templates: Sequence[str]) -> np.ndarray:
    """A cluster number per template."""
    count = len(templates)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    sig = signatures(templates)
    left, right = [], []
    for band in range(BANDS):
        block = sig[:, band * ROWS : (band + 1) * ROWS]
        keys = np.ascontiguousarray(block).view(f"V{8 * ROWS}").ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        same = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
        first = np.maximum.accumulate(np.where(~same, np.arange(count), 0))
        members, leaders = order[same], order[first[same]]
        similar = (sig[members] == sig[leaders]).mean(axis=1) >= SIMILARITY
        left.append(members[similar])
        right.append(leaders[similar])
    return _components(count, np.concatenate(left), np.concatenate(right))


Reports = pl.DataFrame | pl.LazyFrame


def _infrastructure(reports: pl.LazyFrame) -> pl.LazyFrame:
    """(cluster, item, first, last): what each cluster used, and when.  The
    sender of a text the model calls ham is left out: a legitimate text from a
    number a campaign also used (recycled, spoofed, a hijacked phone) must not
    pull its cluster in.  Its links and callback numbers still count."""
    senders = reports.filter(pl.col("sender_kind") == "e164")
    if "category" in reports.collect_schema().names():
        senders = senders.filter(pl.col("category") != "ham")
    items = [
        reports.select("cluster", "received_at", pl.col("domains").alias("item"))
        .explode("item")
        .filter(pl.col("item").is_not_null())
        .with_columns(("domain:" + pl.col("item")).alias("item")),
        reports.select("cluster", "received_at", pl.col("callbacks").alias("item"))
        .explode("item")
        .filter(pl.col("item").is_not_null())
        .with_columns(("phone:" + pl.col("item")).alias("item")),
        senders.select("cluster", "received_at", ("phone:" + pl.col("sender")).alias("item")),
    ]
    return (
        pl.concat(items)
        .group_by("item", "cluster")
        .agg(pl.col("received_at").min().alias("first"), pl.col("received_at").max().alias("last"))
    )


def _join_by_infrastructure(used: pl.DataFrame, clusters: int, window: float) -> np.ndarray:
    used = used.sort("item", "first", "cluster")
    if used.is_empty():
        return np.arange(clusters)
    item = used["item"].to_numpy()
    cluster = used["cluster"].to_numpy()
    first, last = used["first"].to_numpy(), used["last"].to_numpy()
    # within one item, consecutive clusters whose activity is within the window
    same_item = np.r_[False, item[1:] == item[:-1]]
    close = np.r_[False, first[1:] - last[:-1] <= window]
    join = same_item & close
    previous = np.r_[0, cluster[:-1]]
    return _components(clusters, cluster[join], previous[join])


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    """A query's result, computed by Polars' streaming engine: the reports are
    read a batch at a time, never held whole."""
    return query.collect(engine="streaming")


def template_campaigns(reports: Reports, settings: Settings | None = None) -> pl.DataFrame:
    """(template, campaign) for every distinct template of ``reports``
    (classified); campaign -1 for templates in no campaign.  What is held in
    memory grows with the distinct templates (MinHash signatures) and the
    infrastructure items, not with the reports."""
    settings = settings or Settings()
    lazy = reports.lazy()
    counted = _collect(lazy.group_by("template").len()).sort("template")
    if counted.is_empty():
        return pl.DataFrame(schema={"template": pl.String, "campaign": pl.Int64})
    numbers = near_duplicates(counted["template"].to_list())
    clusters = counted.select("template", pl.Series("cluster", numbers, pl.Int64))
    used = _collect(_infrastructure(lazy.join(clusters.lazy(), on="template")))
    campaign = _join_by_infrastructure(used, int(numbers.max()) + 1, settings.window)[numbers]
    sizes = np.bincount(campaign, weights=counted["len"].to_numpy())
    campaign = np.where(sizes[campaign] >= settings.min_reports, campaign, -1)
    return counted.select("template", pl.Series("campaign", campaign, pl.Int64))


def find_campaigns(reports: Reports, settings: Settings | None = None) -> Any:
    """``reports`` (classified; a frame or a lazy frame, given back as such) with
    a ``campaign`` number per report, and -1 for reports in no campaign."""
    mapping = template_campaigns(reports, settings)
    joined = reports.lazy().join(mapping.lazy(), on="template", how="left", maintain_order="left")
    joined = joined.with_columns(pl.col("campaign").fill_null(-1))
    return joined.collect() if isinstance(reports, pl.DataFrame) else joined


DAY_SECONDS = 86_400


def _daily(found: pl.LazyFrame) -> pl.DataFrame:
    """Per campaign, its reports per UTC day, oldest first: ``daily`` is a list of
    ``{"day", "first", "last", "reports"}`` (day start and times in epoch seconds)."""
    per_day = _collect(
        found.select("campaign", "received_at")
        .with_columns(
            (pl.col("received_at") // DAY_SECONDS * DAY_SECONDS).cast(pl.Int64).alias("day")
        )
        .group_by("campaign", "day")
        .agg(
            pl.col("received_at").min().alias("first"),
            pl.col("received_at").max().alias("last"),
            pl.len().alias("reports"),
        )
    )
    return (
        per_day.sort("campaign", "day")
        .group_by("campaign", maintain_order=True)
        .agg(pl.struct("day", "first", "last", "reports").alias("daily"))
    )


def _counted(found: pl.LazyFrame, column: str, limit: int | None = None) -> pl.DataFrame:
    """Per campaign, the values of ``column`` (a list column is exploded) from
    the most to the least reported (ties by value), at most ``limit``; and each
    one's count in ``<column>_counts``."""
    values = found.select("campaign", column)
    if isinstance(values.collect_schema()[column], pl.List):
        values = values.explode(column)
    counts = _collect(values.drop_nulls(column).group_by("campaign", column).len())
    ordered = counts.sort(["campaign", "len", column], descending=[False, True, False]).group_by(
        "campaign", maintain_order=True
    )
    if limit is None:
        return ordered.agg(pl.col(column), pl.col("len").alias(f"{column}_counts"))
    return ordered.agg(
        pl.col(column).head(limit), pl.col("len").head(limit).alias(f"{column}_counts")
    )


def _distinct(found: pl.LazyFrame, column: str, name: str) -> pl.DataFrame:
    """Per campaign, how many distinct values ``column`` has."""
    pairs = found.select("campaign", column).drop_nulls(column).unique()
    return _collect(pairs.group_by("campaign").len(name=name))


def _first_distinct(
    found: pl.LazyFrame, columns: dict[str, tuple[str, int]], campaigns: set[int]
) -> dict[int, dict[str, list[Any]]]:
    """Per campaign, the first distinct values of each column (a list column is
    exploded), in input order: ``columns`` maps a column to the name and the
    number to keep.  The reports are read a batch at a time, and no further
    than needed."""
    kept: dict[int, dict[str, list[Any]]] = {
        c: {name: [] for name, _ in columns.values()} for c in campaigns
    }
    waiting = set(campaigns)
    batches = found.select("campaign", *columns).collect_batches(chunk_size=SLICE, lazy=True)
    for batch in batches:
        for column, (name, limit) in columns.items():
            values = batch.select("campaign", column).filter(pl.col("campaign").is_in(waiting))
            if isinstance(values.schema[column], pl.List):
                values = values.explode(column)
            firsts = (
                values.drop_nulls(column)
                .group_by("campaign", maintain_order=True)
                .agg(pl.col(column).unique(maintain_order=True).head(limit))
            )
            for campaign, values_seen in firsts.iter_rows():
                have = kept[campaign][name]
                have.extend(v for v in values_seen if v not in have)
                del have[limit:]
        waiting = {c for c in waiting if any(len(kept[c][n]) < k for n, k in columns.values())}
        if not waiting:
            break
    return kept


#: Reports read at a time for the first examples.
SLICE = 100_000
#: Distinct URLs kept per campaign.
URLS = 20


def summarise(reports: Reports, settings: Settings | None = None) -> list[dict[str, Any]]:
    """One summary per campaign, largest first.  ``reports`` (with ``campaign``)
    may be a lazy frame over more reports than memory holds: each figure is a
    query of its own, run by the streaming engine."""
    settings = settings or Settings()
    found = reports.lazy().filter(pl.col("campaign") >= 0)
    grouped = _collect(
        found.group_by("campaign").agg(
            pl.len().alias("reports"),
            pl.col("received_at").min().alias("first_seen"),
            pl.col("received_at").max().alias("last_seen"),
        )
    )
    if grouped.is_empty():
        return []
    grouped = grouped.join(_distinct(found, "reporter", "reporters"), on="campaign", how="left")
    grouped = grouped.join(_distinct(found, "template", "templates"), on="campaign", how="left")
    tops = {
        "reporting_network": ("networks", 10),
        "sender": ("senders", 10),
        "domains": ("domains", 20),
        "callbacks": ("callbacks", 10),
        "brand": ("brands", 10),
        "sector": ("sectors", 10),
        "language": ("languages", 10),
        "originating_gt": ("originating_gts", 10),
    }
    for column, (name, limit) in tops.items():
        top = _counted(found, column, limit).select("campaign", pl.col(column).alias(name))
        grouped = grouped.join(top, on="campaign", how="left")
    grouped = grouped.join(_counted(found, "category"), on="campaign", how="left")
    grouped = grouped.join(_daily(found), on="campaign", how="left")
    firsts = _first_distinct(
        found,
        {
            "body": ("examples", settings.examples),
            "template": ("template_examples", settings.examples),
            "urls": ("urls", URLS),
        },
        set(grouped["campaign"].to_list()),
    )
    out = []
    for row in grouped.sort("reports", "campaign", descending=[True, False]).iter_rows(named=True):
        for name, limit in tops.values():
            row[name] = (row[name] or [])[:limit]
        row.update(firsts[row["campaign"]])
        key = "|".join(sorted(row["domains"] + row["callbacks"])) or row["examples"][0]
        row["categories"] = dict(zip(row.pop("category"), row.pop("category_counts"), strict=True))
        category = campaign_category(row["categories"], settings.category_share)
        row["id"] = str(uuid.uuid5(_NAMESPACE, key))
        row["category"] = category
        row["name"] = _name(row)
        out.append(row)
    return out


def _name(campaign: dict[str, Any]) -> str:
    subject = campaign["brands"][0] if campaign["brands"] else (campaign["sectors"] or ["SMS"])[0]
    kind = campaign["category"]
    where = (campaign["domains"] or campaign["callbacks"] or [""])[0]
    return f"{subject} {kind}" + (f" via {where}" if where else "")


def link_blasters(
    campaigns: list[dict[str, Any]],
    reports: Reports,
    alerts: Sequence[dict[str, Any]],
    distance_m: float = 2000.0,
    slack_s: float = 1800.0,
) -> None:
    """Add ``blasters`` to each campaign: the radio alerts (``telsec radio scan
    -f jsonl``) near whose track, in whose time, its reports were received."""
    for campaign in campaigns:
        campaign["blasters"] = []
    if not alerts:
        return
    located = _collect(
        reports.lazy()
        .filter(pl.col("campaign") >= 0, pl.col("lat").is_not_null(), pl.col("lon").is_not_null())
        .select("lat", "lon", "received_at", "campaign")
    )
    by_campaign = {c["campaign"]: c for c in campaigns}
    if located.is_empty():
        return
    lat, lon = located["lat"].to_numpy(), located["lon"].to_numpy()
    when, owner = located["received_at"].to_numpy(), located["campaign"].to_numpy()
    for alert in alerts:
        hits = np.zeros(len(lat), dtype=bool)
        for point in alert.get("track") or []:
            if point.get("lat") is None or point.get("lon") is None:
                continue
            start = float(point.get("start", point.get("time", alert.get("first_seen", 0))))
            end = float(point.get("end", point.get("time", alert.get("last_seen", start))))
            reach = distance_m + float(point.get("radius_m") or 0)
            near = haversine_m(lat, lon, float(point["lat"]), float(point["lon"])) <= reach
            hits |= near & (when >= start - slack_s) & (when <= end + slack_s)
        for number, count in zip(*np.unique(owner[hits], return_counts=True), strict=True):
            linked = by_campaign.get(int(number))
            if linked is not None:
                linked["blasters"].append(
                    {"alert": alert.get("id"), "reports": int(count), "cell": _cell(alert)}
                )


def _cell(alert: dict[str, Any]) -> dict[str, Any] | None:
    """The cell an alert names (what the STIX report relates the campaign to)."""
    cell = {k: alert.get(k) for k in ("rat", "mcc", "mnc", "area", "cell")}
    return cell if all(v is not None for v in cell.values()) else None


def link_signalling(campaigns: list[dict[str, Any]], sources: Sequence[dict[str, Any]]) -> None:
    """Add ``global_titles`` to each campaign: the flagged signalling sources
    (``telsec signalling scan --view sources -f jsonl``) its messages came from."""
    flagged = {
        str(s.get("source") or s.get("global_title") or ""): s
        for s in sources
        if s.get("verdict", "block") in ("block", "investigate")
    }
    for campaign in campaigns:
        campaign["global_titles"] = [
            {"global_title": gt, "verdict": flagged[gt].get("verdict")}
            for gt in campaign.get("originating_gts") or []
            if gt in flagged
        ]
