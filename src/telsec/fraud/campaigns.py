"""Campaigns: near-duplicate texts joined by the infrastructure they share.

1. Templates (texts with URLs, numbers, amounts and codes as placeholders) are
   near-duplicates when their word 3-gram sets are similar: MinHash signatures
   (``PERMUTATIONS`` hash functions, vectorised in NumPy) banded for LSH
   (``BANDS`` bands of ``ROWS`` rows: pairs above a Jaccard of about 0.5 collide);
   colliding pairs whose estimated similarity reaches ``SIMILARITY`` are joined.
2. Clusters that share a registrable domain (not a shortener), the IP
   address of a link without a domain, an E.164 sender or a callback number,
   with activity within ``window`` of each other, are one campaign: the same
   people behind different wordings.  The sender of a text the model calls
   ham is not used (it may be a recycled number).
3. Each campaign is summarised: first and last seen, volume (in all and per
   UTC day), reporters, networks, senders, domains, IP addresses, brands,
   examples, and the SMS-blaster alerts and signalling findings it is linked
   to (:func:`link_blasters`, :func:`link_signalling`).

The reports may be a lazy frame over Parquet parts (:mod:`.store`) holding
more than memory does: every step is a query run by Polars' streaming engine
that keeps keys and counts, those whose counts grow with distinct values in
passes over a slice of keys each (``PASS_ROWS``), so what this module holds
grows with the distinct templates (the clustering needs each one's signature),
not with the reports.  The engine's own working memory does grow with the rows
it reads, most with joins and with hashing long texts (measured in
docs/benchmarks.md): once the templates' campaigns are known, the reports'
parts are rewritten with each one's campaign and the keys the summaries count
by (:func:`assign_campaigns`, driven by
:func:`telsec.fraud.pipeline.stored_campaigns`).
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterable, Iterator, Sequence
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
    #: A sender is one of a campaign's senders (blocklisted, shared as an indicator)
    #: once this many of its reports came from it.  A number seen once in a campaign
    #: is as likely a person whose own text the model misread, and blocking it
    #: would cut that person off; a campaign's real senders send it again and again.
    sender_reports: int = 2


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
    """(templates, PERMUTATIONS) MinHash signatures.

    Each of the ``PERMUTATIONS`` hash functions is a salted 64-bit mix of a
    word 3-gram's hash (:func:`_mixed`), and each signature value is the low 16
    bits of a template's minimum (b-bit minwise hashing, Li & König 2010): only
    their equality is used, two different minima agree by chance once in
    65,536 (an estimated similarity raised by at most 0.00002), and two
    templates share a band of four by chance once in 2^64.  Half the bytes of
    32-bit values, for every distinct template the clustering holds.

    The low bits need hash functions whose minimum is as random in every bit as
    in its rank.  ``(a x + b) mod p`` over 32-bit ``x`` with ``a < 2^31`` (the
    functions used before) is not: ``a x`` wraps around ``p`` at most three
    times, so a set's minimum is the element nearest above one of four points,
    and the low 16 bits of two unrelated templates' minima agreed on 75 % of the
    functions where their 32 bits agreed on none."""
    rng = np.random.default_rng(seed)
    salts = rng.integers(0, np.iinfo(np.int64).max, PERMUTATIONS, dtype=np.int64).astype(np.uint64)
    owners: list[int] = []
    values: list[int] = []
    for i, text in enumerate(templates):
        hashed = _shingles(text) or [0]
        values.extend(hashed)
        owners.extend([i] * len(hashed))
    out = np.empty((len(templates), PERMUTATIONS), dtype=SIGNATURE_BITS)
    if not templates:
        return out
    x = np.array(values, dtype=np.uint64)
    owner = np.array(owners, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    for k in range(PERMUTATIONS):
        out[:, k] = np.minimum.reduceat(_mixed(x ^ salts[k]), starts) & np.uint64(0xFFFF)
    return out


_MIX = (np.uint64(30), np.uint64(0xBF58476D1CE4E5B9), np.uint64(27), np.uint64(0x94D049BB133111EB),
        np.uint64(31))  # fmt: skip


def _mixed(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014) of each value: every
    output bit depends on every input bit (multiplication wraps modulo 2^64)."""
    first, m1, second, m2, third = _MIX
    z = (z ^ (z >> first)) * m1
    z = (z ^ (z >> second)) * m2
    mixed: np.ndarray = z ^ (z >> third)
    return mixed


#: Each MinHash value's type (:func:`signatures`).
SIGNATURE_BITS = np.uint16
SIGNATURE = pl.Array(pl.UInt16, PERMUTATIONS)


def template_signatures(templates: Sequence[str]) -> pl.DataFrame:
    """(template, signature): what the clustering needs of each template, computed
    where the reports are ingested."""
    return pl.DataFrame(
        [
            pl.Series("template", templates, pl.String),
            pl.Series("signature", signatures(templates), SIGNATURE),
        ]
    )


def _components(count: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(count, count))
    return np.asarray(connected_components(graph, directed=False)[1])


def near_duplicates(templates: Sequence[str]) -> np.ndarray:
    """A cluster number per template."""
    return _banded(signatures(templates))


_BLOCK = 32_768


def _banded(sig: np.ndarray) -> np.ndarray:
    """A cluster number per row of ``sig`` (LSH: rows sharing a band and similar).
    The bands are joined one at a time: each row's link to its component so far
    stands for the bands before, so the edges held are never more than twice
    the rows."""
    count = len(sig)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.arange(count)
    labels = rows
    for band in range(BANDS):
        block = sig[:, band * ROWS : (band + 1) * ROWS]
        width = block.itemsize * ROWS  # a band's bytes: 8 sort as integers, faster
        keys = np.ascontiguousarray(block).view(np.uint64 if width == 8 else f"V{width}").ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        same = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
        first = np.maximum.accumulate(np.where(~same, rows, 0))
        members, leaders = order[same], order[first[same]]
        left, right = [rows], [np.unique(labels, return_index=True)[1][labels]]
        for start in range(0, len(members), _BLOCK):  # copies of _BLOCK rows at most
            block_members = members[start : start + _BLOCK]
            block_leaders = leaders[start : start + _BLOCK]
            agree = (sig[block_members] == sig[block_leaders]).mean(axis=1)
            similar = agree >= SIMILARITY
            left.append(block_members[similar])
            right.append(block_leaders[similar])
        labels = _components(count, np.concatenate(left), np.concatenate(right))
    return labels


Reports = pl.DataFrame | pl.LazyFrame


def _infrastructure(reports: pl.LazyFrame, by: str) -> pl.LazyFrame:
    """(item, ``by``, first, last): what each template or cluster used, and when.  The
    sender of a text the model calls ham is left out: a legitimate text from a
    number a campaign also used (recycled, spoofed, a hijacked phone) must not
    pull its cluster in.  Its links and callback numbers still count.  (One
    pass over the reports: a query that read them in several branches would
    have Polars hold them all in memory between the branches.)"""
    sender = pl.col("sender_kind") == "e164"
    if "category" in reports.collect_schema().names():
        sender &= pl.col("category") != "ham"
    items = pl.concat_list(
        pl.col("domains").list.eval("domain:" + pl.element()),
        pl.col("ip_addresses").list.eval("ip:" + pl.element()),
        pl.col("callbacks").list.eval("phone:" + pl.element()),
        pl.when(sender).then("phone:" + pl.col("sender")),
    )
    return (
        reports.select(by, "received_at", items.alias("item"))
        .explode("item")
        .drop_nulls("item")
        .group_by("item", by)
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


#: Reports per pass of a query whose state grows with its distinct values
#: (templates, URLs, senders, reporters): over more reports than this, such a
#: query runs in several passes, each over the values whose keys fall in one
#: slice, so that the distinct values held at once are one slice's.  Over the
#: parts of 4M reports, summarising took 281 MiB at 2M reports per pass, 251 MiB
#: at 1M and 212 MiB at 500k, in 3.7, 4.7 and 7.8 s (docs/benchmarks.md).
PASS_ROWS = 1_000_000


def _passes(rows: int) -> int:
    return max(1, -(-rows // PASS_ROWS))


def _slice(key: str, index: int, passes: int) -> pl.Expr:
    """The rows whose ``key`` (a :func:`_key`) falls in pass ``index``."""
    return pl.lit(True) if passes == 1 else pl.col(key) % passes == index


def _top(counts: pl.DataFrame, by: str, limit: int | None) -> pl.DataFrame:
    """Per campaign, ``counts``' rows from the most to the least reported (ties
    by ``by``), at most ``limit``."""
    ordered = counts.sort(["campaign", "len", by], descending=[False, True, False])
    if limit is None:
        return ordered
    return ordered.group_by("campaign", maintain_order=True).head(limit)


def _top_keys(keyed: pl.LazyFrame, limit: int | None, passes: int) -> pl.DataFrame:
    """Per campaign, its most reported values of ``key`` (at most ``limit``) with
    their counts, counted a slice of keys at a time."""
    each = []
    for index in range(passes):
        counts = keyed.filter(_slice("key", index, passes)).group_by("campaign", "key").len()
        each.append(_top(_collect(counts), "key", limit))
    return _top(pl.concat(each), "key", limit)


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    """A query's result, computed by Polars' streaming engine: the reports are
    read a batch at a time, never held whole."""
    return query.collect(engine="streaming")


def _key(column: str = "template") -> pl.Expr:
    """A column's values as 64-bit keys: what the queries group and join on, 8
    bytes in place of a text.  Polars' hash is stable within one run, which is
    as long as a key lives; two texts of one run share a key with odds of about
    n^2 / 2^65 (3 in 100 million for a million templates)."""
    return pl.col(column).hash(_KEY_SEED)


_KEY_SEED = 20251125


def template_campaigns(
    reports: Reports, signed: Iterable[pl.DataFrame] | None = None, settings: Settings | None = None
) -> pl.DataFrame:
    """(template_key, campaign) for every distinct template of ``reports``
    (classified; see :func:`_key`); campaign -1 for templates in no campaign.
    ``signed`` has the templates' signatures (:func:`template_signatures`, in
    as many frames as convenient), computed here if not given.  What is held
    in memory is a key, a count and a signature (144 bytes) per distinct
    template, and the infrastructure of a slice of them at a time."""
    settings = settings or Settings()
    lazy = reports.lazy().with_columns(_key().alias("template_key"))
    counted = _collect(lazy.group_by("template_key").len()).sort("template_key")
    if counted.is_empty():
        return pl.DataFrame(schema={"template_key": pl.UInt64, "campaign": pl.Int64})
    if signed is None:
        distinct = _collect(reports.lazy().select("template").unique())
        signed = [template_signatures(distinct["template"].to_list())]
    keys = counted["template_key"].to_numpy()
    numbers = _banded(_aligned_signatures(keys, signed))
    clusters = pl.DataFrame(
        [pl.Series("template_key", keys), pl.Series("cluster", numbers, pl.Int64)]
    )
    passes = _passes(int(counted["len"].sum()))
    used = (
        pl.concat(
            _collect(
                _infrastructure(lazy.filter(_slice("template_key", i, passes)), "template_key")
            )
            .join(clusters, on="template_key")
            .group_by("item", "cluster")
            .agg(pl.col("first").min(), pl.col("last").max())
            for i in range(passes)
        )
        .group_by("item", "cluster")
        .agg(pl.col("first").min(), pl.col("last").max())
    )
    campaign = _join_by_infrastructure(used, int(numbers.max()) + 1, settings.window)[numbers]
    sizes = np.bincount(campaign, weights=counted["len"].to_numpy())
    campaign = np.where(sizes[campaign] >= settings.min_reports, campaign, -1)
    return clusters.select("template_key", pl.Series("campaign", campaign, pl.Int64))


def _aligned_signatures(keys: np.ndarray, signed: Iterable[pl.DataFrame]) -> np.ndarray:
    """The signature of each of ``keys`` (sorted template keys), read from
    ``signed`` a frame at a time.  A key with no signature (none should lack
    one) gets random values, which share a band with another by chance once in
    2^64."""
    out = np.empty((len(keys), PERMUTATIONS), dtype=SIGNATURE_BITS)
    filled = np.zeros(len(keys), dtype=bool)
    for frame in signed:
        given = frame.select(_key()).to_series().to_numpy()
        where = np.minimum(np.searchsorted(keys, given), len(keys) - 1)
        known = keys[where] == given
        out[where[known]] = frame["signature"].to_numpy()[known]
        filled[where[known]] = True
    lacking = np.flatnonzero(~filled)
    if len(lacking):
        values = np.random.default_rng(len(lacking)).integers(
            0, 1 << 16, (len(lacking), PERMUTATIONS), dtype=np.uint32
        )
        out[lacking] = values.astype(SIGNATURE_BITS)
    return out


def find_campaigns(
    reports: Reports, signed: Iterable[pl.DataFrame] | None = None, settings: Settings | None = None
) -> Any:
    """``reports`` (classified; a frame or a lazy frame, given back as such) with
    a ``campaign`` number per report, and -1 for reports in no campaign."""
    mapping = template_campaigns(reports, signed, settings)
    joined = (
        reports.lazy()
        .with_columns(_key().alias("template_key"))
        .join(mapping.lazy(), on="template_key", how="left", maintain_order="left")
        .with_columns(pl.col("campaign").fill_null(-1))
        .drop("template_key")
    )
    return joined.collect() if isinstance(reports, pl.DataFrame) else joined


#: Keys of the texts the summaries count by, written beside the reports by
#: :func:`assign_campaigns`, so that no summary query hashes a template or
#: reporter again over every report.  The template's is :func:`_key`'s, the one
#: the campaigns were joined on (ingest always gives a template, "" for no
#: text); the reporter's is null where the reporter is.
STORED_KEYS = {"template": "template_key", "reporter": "reporter_key"}


def assign_campaigns(reports: pl.LazyFrame, mapping: pl.DataFrame) -> pl.LazyFrame:
    """``reports`` with their ``campaign`` (-1: none) from
    ``mapping`` (:func:`template_campaigns`) and the :data:`STORED_KEYS`: what
    the reports' parts are rewritten with once the campaigns are known, so that
    :func:`summarise` reads numbers where it would join and hash texts."""
    return (
        reports.with_columns(
            _key().alias("template_key"),
            pl.when(pl.col("reporter").is_not_null()).then(_key("reporter")).alias("reporter_key"),
        )
        .join(mapping.lazy(), on="template_key", how="left", maintain_order="left")
        .with_columns(pl.col("campaign").fill_null(-1))
    )


def _stored_key(found: pl.LazyFrame, column: str) -> str | None:
    """The name of ``column``'s key written beside the reports, if it is."""
    stored = STORED_KEYS.get(column)
    return stored if stored and stored in found.collect_schema().names() else None


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


def _counted(
    found: pl.LazyFrame,
    column: str,
    limit: int | None = None,
    many: bool = False,
    passes: int = 1,
    least: int = 1,
) -> pl.DataFrame:
    """Per campaign, the values of ``column`` (a list column is exploded) from
    the most to the least reported, at most ``limit``, each in at least ``least``
    reports; and each one's count in ``<column>_counts``.  Ties go by value, or
    for a column of ``many`` values
    (URLs, senders: as many as the reports, at worst) by key: those are counted
    by their 64-bit keys in ``passes`` passes, and only the values kept are
    read back."""
    values = found.select("campaign", column)
    if isinstance(values.collect_schema()[column], pl.List):
        values = values.explode(column)
    values = values.drop_nulls(column)
    if not many:
        counts = _collect(values.group_by("campaign", column).len())
        ordered = _top(counts, column, limit).filter(pl.col("len") >= least)
    else:
        values = values.with_columns(_key(column).alias("key"))
        ordered = _top_keys(values, limit, passes).filter(pl.col("len") >= least)
        chosen = ordered["key"].unique().implode()  # only the values kept are read back
        named = values.filter(pl.col("key").is_in(chosen)).group_by("key").agg(pl.col(column).min())
        ordered = ordered.join(_collect(named), on="key", maintain_order="left")
    return ordered.group_by("campaign", maintain_order=True).agg(
        pl.col(column), pl.col("len").alias(f"{column}_counts")
    )


def _examples(found: pl.LazyFrame, limit: int, passes: int = 1) -> pl.DataFrame:
    """Per campaign, its ``limit`` most reported templates (``template_examples``)
    and a text of each (``examples``)."""
    stored = _stored_key(found, "template")
    keyed = found.with_columns((pl.col(stored) if stored else _key()).alias("key"))
    top = _top_keys(keyed, limit, passes)
    texts = _collect(
        keyed.filter(pl.col("key").is_in(top["key"].unique().implode()))
        .group_by("key")
        .agg(pl.col("template").first(), pl.col("body").min())
    )
    return (
        top.join(texts, on="key", maintain_order="left")
        .group_by("campaign", maintain_order=True)
        .agg(
            pl.col("body").unique(maintain_order=True).alias("examples"),
            pl.col("template").alias("template_examples"),
        )
    )


def _distinct(found: pl.LazyFrame, column: str, name: str, passes: int = 1) -> pl.DataFrame:
    """Per campaign, how many distinct values ``column`` has (counted by key, in
    ``passes`` passes)."""
    stored = _stored_key(found, column)
    if stored:
        pairs = found.select("campaign", pl.col(stored).alias("key")).drop_nulls("key")
    else:
        values = found.select("campaign", column).drop_nulls(column)
        pairs = values.select("campaign", _key(column).alias("key"))
    each = (
        _collect(
            pairs.filter(_slice("key", i, passes)).unique().group_by("campaign").len(name=name)
        )
        for i in range(passes)
    )
    return pl.concat(each).group_by("campaign").agg(pl.col(name).sum())


#: Distinct URLs kept per campaign.
URLS = 20


def summarise(reports: Reports, settings: Settings | None = None) -> list[dict[str, Any]]:
    """One summary per campaign, largest first.  ``reports`` (with ``campaign``)
    may be a lazy frame over more reports than memory holds: each figure is a
    query of its own, run by the streaming engine, that keeps counts, not
    reports."""
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
    passes = _passes(int(grouped["reports"].sum()))
    for column, name in (("reporter", "reporters"), ("template", "templates")):
        distinct = _distinct(found, column, name, passes)
        grouped = grouped.join(distinct, on="campaign", how="left")
    # column: (name in the summary, values kept, values may be as many as reports)
    tops = {
        "reporting_network": ("networks", 10, False),
        "sender": ("senders", 10, True),
        "domains": ("domains", 20, True),
        "ip_addresses": ("ip_addresses", 20, True),
        "urls": ("urls", URLS, True),
        "callbacks": ("callbacks", 10, True),
        "brand": ("brands", 10, False),
        "sector": ("sectors", 10, False),
        "language": ("languages", 10, False),
        "originating_gt": ("originating_gts", 10, True),
    }
    for column, (name, limit, many) in tops.items():
        least = settings.sender_reports if column == "sender" else 1
        top = _counted(found, column, limit, many, passes, least)
        top = top.select("campaign", pl.col(column).alias(name))
        grouped = grouped.join(top, on="campaign", how="left")
    grouped = grouped.join(_counted(found, "category"), on="campaign", how="left")
    grouped = grouped.join(_daily(found), on="campaign", how="left")
    examples = _examples(found, settings.examples, passes)
    grouped = grouped.join(examples, on="campaign", how="left")
    out = []
    for row in grouped.sort("reports", "campaign", descending=[True, False]).iter_rows(named=True):
        for name, _, _ in tops.values():
            row[name] = row[name] or []
        infrastructure = row["domains"] + row["ip_addresses"] + row["callbacks"]
        key = "|".join(sorted(infrastructure)) or row["examples"][0]
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
    where = (campaign["domains"] or campaign["ip_addresses"] or campaign["callbacks"] or [""])[0]
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
        for start, end, point_lat, point_lon, radius in _track(alert):
            near = haversine_m(lat, lon, point_lat, point_lon) <= distance_m + radius
            hits |= near & (when >= start - slack_s) & (when <= end + slack_s)
        for number, count in zip(*np.unique(owner[hits], return_counts=True), strict=True):
            linked = by_campaign.get(int(number))
            if linked is not None:
                linked["blasters"].append(
                    {"alert": alert.get("id"), "reports": int(count), "cell": _cell(alert)}
                )


def _number(value: Any) -> float | None:
    """A finite number, or None (for a value of a file someone else wrote)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _track(alert: dict[str, Any]) -> Iterator[tuple[float, float, float, float, float]]:
    """``(start, end, lat, lon, radius_m)`` of each usable point of an alert's
    track (a point without a place, or with values that are not numbers, is left out)."""
    track = alert.get("track")
    for point in track if isinstance(track, list) else []:
        if not isinstance(point, dict):
            continue
        point_lat, point_lon = _number(point.get("lat")), _number(point.get("lon"))
        if point_lat is None or point_lon is None or abs(point_lat) > 90 or abs(point_lon) > 180:
            continue
        first = _number(point.get("time", alert.get("first_seen")))
        start = _number(point.get("start", first))
        if start is None:
            start = 0.0
        end = _number(point.get("end", point.get("time", alert.get("last_seen"))))
        radius = max(_number(point.get("radius_m")) or 0.0, 0.0)
        yield start, start if end is None else end, point_lat, point_lon, radius


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
