"""What the coalition knows, put together per threat: a Global Title, the SMS
blasters on a map, fraud campaigns, and what arrived lately.

Built only from objects the reader may see (:mod:`telsec.exchange.browse`),
so two analysts of different organisations get different answers for the same
Global Title when TLP says so.  The pure functions (pattern matching, threat
classification, severity) are small and tested on their own.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from telsec.exchange import browse
from telsec.exchange.browse import ObjectRow
from telsec.members.auth import Principal
from telsec.stix.timestamps import now_us, parse_timestamp
from telsec.stix.tlp import Tlp

# ------------------------------------------------------- pure functions

_COMPARISON = re.compile(
    r"(?P<type>[a-z0-9-]+):(?P<path>[a-z0-9_.]+)\s*(?P<op>=|!=|LIKE|MATCHES)\s*'(?P<value>(?:[^'\\]|\\.)*)'"
)


def comparisons(pattern: str) -> list[tuple[str, str, str, str]]:
    """(object type, property, operator, value) of each string comparison in a STIX pattern."""
    return [
        (m["type"], m["path"], m["op"], m["value"].replace("\\'", "'").replace("\\\\", "\\"))
        for m in _COMPARISON.finditer(pattern)
    ]


def _like(value: str, template: str) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in template)
    return re.fullmatch(regex, value) is not None


def matches_global_title(pattern: str, digits: str) -> str | None:
    """How an indicator's pattern names the Global Title ``digits``:
    ``exact``, ``range`` (LIKE or MATCHES), or None."""
    for stix_type, path, op, value in comparisons(pattern):
        if stix_type != "global-title" or path != "digits":
            continue
        if op == "=" and value == digits:
            return "exact"
        if op == "LIKE" and _like(digits, value):
            return "range"
        if op == "MATCHES":
            try:
                if re.search(value, digits):
                    return "range"
            except re.error:
                continue
    return None


THREATS = ("Global Title misuse", "SMS blaster", "Fraud", "Intrusion", "Other")
_BY_SCO = {
    "global-title": "Global Title misuse",
    "cell-identity": "SMS blaster",
    "sms-sender": "Fraud",
    "domain-name": "Fraud",
    "url": "Fraud",
}


def threat_of(obj: dict[str, Any]) -> str:
    """The threat an object is about, from its type or its pattern."""
    stix_type = obj.get("type")
    if stix_type in _BY_SCO:
        return _BY_SCO[str(stix_type)]
    if stix_type in ("intrusion-set", "malware", "tool", "vulnerability"):
        return "Intrusion"
    if stix_type == "campaign":
        return "Fraud"
    if stix_type == "infrastructure":
        kinds = obj.get("infrastructure_types") or []
        name = str(obj.get("name", "")).lower()
        return (
            "SMS blaster"
            if "blaster" in name or "base station" in name
            else ("Fraud" if "phishing" in kinds else "Other")
        )
    pattern = obj.get("pattern")
    if isinstance(pattern, str):
        for stix_type_, _path, _op, _value in comparisons(pattern):
            if stix_type_ in _BY_SCO:
                return _BY_SCO[stix_type_]
        if "cell-identity:" in pattern:
            return "SMS blaster"
        if "ipv4-addr:" in pattern or "file:" in pattern:
            return "Intrusion"
    return "Other"


HIGH_CONFIDENCE = 70
_SEVERE_LABELS = frozenset({"high", "critical", "block"})
_ASSESSED = frozenset(
    {"indicator", "sighting", "report", "campaign", "intrusion-set", "infrastructure"}
)


def is_high_severity(obj: dict[str, Any]) -> bool:
    """An assessment worth a look today: confidence of 70 or more, or labelled high,
    critical or block."""
    if obj.get("type") not in _ASSESSED or obj.get("revoked") is True:
        return False
    confidence = obj.get("confidence")
    if isinstance(confidence, int) and confidence >= HIGH_CONFIDENCE:
        return True
    labels = obj.get("labels")
    return isinstance(labels, list) and any(
        isinstance(x, str) and x.lower() in _SEVERE_LABELS for x in labels
    )


def _time(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


# ----------------------------------------------------------- dashboard

DAY_US = 86_400_000_000


@dataclass
class Activity:
    """What arrived in a window, counted for the dashboard."""

    since_us: int
    until_us: int
    total: int = 0
    by_threat: Counter[str] = field(default_factory=Counter)
    by_tlp: Counter[Tlp] = field(default_factory=Counter)
    by_producer: Counter[str] = field(default_factory=Counter)
    #: (day start, threat) -> count
    by_day: Counter[tuple[int, str]] = field(default_factory=Counter)
    high: list[ObjectRow] = field(default_factory=list)
    truncated: bool = False


COUNTED = frozenset(
    {
        "indicator", "sighting", "report", "campaign", "intrusion-set", "infrastructure",
        "global-title", "cell-identity", "sms-sender", "domain-name", "url", "observed-data",
        "note", "malware", "tool", "vulnerability", "attack-pattern",
    }
)  # fmt: skip
ACTIVITY_LIMIT = 50_000


def activity(
    conn: Connection, principal: Principal, days: int, *, now: int | None = None
) -> Activity:
    """Threat objects that arrived in the last ``days`` days (relationships, identities,
    locations and markings are not counted), with the newest high-severity ones."""
    until = now if now is not None else now_us()
    since = until - days * DAY_US
    result = browse.search(
        conn,
        principal,
        browse.SearchQuery(
            types=tuple(sorted(COUNTED)), since_us=since, until_us=until + 1, limit=ACTIVITY_LIMIT
        ),
    )
    out = Activity(since_us=since, until_us=until, truncated=result.more)
    names = browse.organisation_names(conn)
    indicator_threat: dict[str, str] = {}
    rows = result.rows
    for row in rows:
        if row.stix_type == "indicator":
            indicator_threat[row.stix_id] = threat_of(row.body)
    for row in rows:
        threat = threat_of(row.body)
        if row.stix_type == "sighting":
            threat = indicator_threat.get(str(row.body.get("sighting_of_ref")), threat)
        day = since + ((row.date_added_us - since) // DAY_US) * DAY_US
        out.total += 1
        out.by_threat[threat] += 1
        out.by_tlp[row.tlp] += 1
        out.by_producer[names.get(row.producer_org_id, "?")] += 1
        out.by_day[(day, threat)] += 1
        if len(out.high) < 10 and is_high_severity(row.body):
            out.high.append(row)
    return out


# ------------------------------------------------------- Global Titles


@dataclass
class GlobalTitleProfile:
    digits: str
    observables: list[ObjectRow] = field(default_factory=list)
    indicators: list[tuple[ObjectRow, str]] = field(default_factory=list)  # (row, exact|range)
    sightings: list[ObjectRow] = field(default_factory=list)
    related: list[ObjectRow] = field(default_factory=list)  # campaigns, reports, notes...
    techniques: list[ObjectRow] = field(default_factory=list)
    reporters: list[str] = field(default_factory=list)
    first_seen_us: int | None = None
    last_seen_us: int | None = None
    blocking: list[ObjectRow] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return bool(self.observables or self.indicators)

    @property
    def country(self) -> str | None:
        for row in self.observables:
            country = row.body.get("country")
            if isinstance(country, str):
                return country
        return None

    @property
    def blocklisted(self) -> bool:
        return bool(self.blocking)


def _is_current(obj: dict[str, Any], now: int) -> bool:
    if obj.get("revoked") is True:
        return False
    until = _time(obj, "valid_until")
    return until is None or until > now


def global_title_profile(
    conn: Connection, principal: Principal, digits: str, *, now: int | None = None
) -> GlobalTitleProfile:
    """Everything visible to ``principal`` about the Global Title ``digits``."""
    moment = now if now is not None else now_us()
    profile = GlobalTitleProfile(digits=digits)
    names = browse.organisation_names(conn)
    identities = browse.identity_names(conn)
    reporters: set[str] = set()
    for row in browse.search(
        conn,
        principal,
        browse.SearchQuery(text=digits, types=("global-title",), limit=100),
    ).rows:
        if row.body.get("digits") == digits:
            profile.observables.append(row)
            reporters.add(names.get(row.producer_org_id, "?"))
    candidates = browse.search(
        conn,
        principal,
        browse.SearchQuery(text="global-title:digits", types=("indicator",), limit=5000),
    ).rows
    for row in candidates:
        how = matches_global_title(str(row.body.get("pattern", "")), digits)
        if how is None:
            continue
        profile.indicators.append((row, how))
        reporters.add(names.get(row.producer_org_id, "?"))
        if _is_current(row.body, moment) and "malicious-activity" in (
            row.body.get("indicator_types") or []
        ):
            profile.blocking.append(row)
    indicator_ids = {row.stix_id for row, _ in profile.indicators}
    related_ids: set[str] = set()
    technique_ids: set[str] = set()
    targets = indicator_ids | {r.stix_id for r in profile.observables}
    for row in browse.referencing(conn, principal, sorted(targets)):
        obj = row.body
        if row.stix_type == "sighting" and obj.get("sighting_of_ref") in indicator_ids:
            profile.sightings.append(row)
            reporters.add(names.get(row.producer_org_id, "?"))
            for ref in obj.get("where_sighted_refs") or []:
                if isinstance(ref, str) and ref in identities:
                    reporters.add(identities[ref])
        elif row.stix_type == "relationship":
            for end in (obj.get("source_ref"), obj.get("target_ref")):
                if not isinstance(end, str) or end in targets:
                    continue
                if end.startswith("attack-pattern--"):
                    technique_ids.add(end)
                else:
                    related_ids.add(end)
        elif row.stix_type != "sighting":
            related_ids.add(row.stix_id)
    resolved = browse.latest(conn, principal, related_ids | technique_ids)
    profile.related = sorted(
        (resolved[i] for i in related_ids if i in resolved), key=lambda r: r.stix_type
    )
    profile.techniques = sorted(
        (resolved[i] for i in technique_ids if i in resolved), key=lambda r: r.name
    )
    seen = [
        t
        for row in profile.sightings
        for t in (_time(row.body, "first_seen"), _time(row.body, "last_seen"))
        if t is not None
    ] + [t for row, _ in profile.indicators for t in [_time(row.body, "valid_from")] if t]
    if seen:
        profile.first_seen_us, profile.last_seen_us = min(seen), max(seen)
    profile.reporters = sorted(reporters - {"?"})
    return profile


# ------------------------------------------------------------ blasters


@dataclass
class TrackPoint:
    latitude: float
    longitude: float
    precision_m: float | None
    first_seen_us: int | None
    last_seen_us: int | None
    count: int | None
    place: str
    sighting: ObjectRow


@dataclass
class BlasterTrack:
    indicator: ObjectRow
    points: list[TrackPoint]

    @property
    def tlp(self) -> Tlp:
        return max([self.indicator.tlp, *(p.sighting.tlp for p in self.points)])


def blaster_tracks(conn: Connection, principal: Principal) -> list[BlasterTrack]:
    """Suspected SMS blasters (indicators on cell identities) and where they were sighted,
    in time order; a sighting whose location the reader may not see is left out."""
    indicators = [
        row
        for row in browse.search(
            conn,
            principal,
            browse.SearchQuery(text="cell-identity:", types=("indicator",), limit=2000),
        ).rows
        if "cell-identity:" in str(row.body.get("pattern", ""))
    ]
    links = browse.Links(conn, principal)
    tracks = []
    for indicator in indicators:
        sightings = [
            row
            for row in links.to(indicator.stix_id, "sighting")
            if row.body.get("sighting_of_ref") == indicator.stix_id
        ]
        where = {
            ref
            for row in sightings
            for ref in row.body.get("where_sighted_refs") or []
            if isinstance(ref, str) and ref.startswith("location--")
        }
        places = browse.latest(conn, principal, where)
        points = []
        for row in sightings:
            for ref in row.body.get("where_sighted_refs") or []:
                place = places.get(ref) if isinstance(ref, str) else None
                if place is None:
                    continue
                lat, lon = place.body.get("latitude"), place.body.get("longitude")
                if not isinstance(lat, int | float) or not isinstance(lon, int | float):
                    continue
                precision = place.body.get("precision")
                count = row.body.get("count")
                points.append(
                    TrackPoint(
                        latitude=float(lat),
                        longitude=float(lon),
                        precision_m=float(precision)
                        if isinstance(precision, int | float)
                        else None,
                        first_seen_us=_time(row.body, "first_seen"),
                        last_seen_us=_time(row.body, "last_seen"),
                        count=count if isinstance(count, int) else None,
                        place=str(place.body.get("name") or place.name),
                        sighting=row,
                    )
                )
        points.sort(key=lambda p: p.first_seen_us or 0)
        tracks.append(BlasterTrack(indicator=indicator, points=points))
    tracks.sort(key=lambda t: t.points[-1].last_seen_us or 0 if t.points else 0, reverse=True)
    return tracks


# ----------------------------------------------------------- campaigns


@dataclass
class CampaignProfile:
    campaign: ObjectRow
    domains: list[str] = field(default_factory=list)
    #: IP addresses that the campaign's links without a domain point at
    ip_addresses: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    blasters: list[ObjectRow] = field(default_factory=list)  # cell identities / their indicators
    global_titles: list[ObjectRow] = field(default_factory=list)
    techniques: list[ObjectRow] = field(default_factory=list)
    #: day start -> messages sighted (from sightings of the campaign and its indicators)
    volume: dict[int, int] = field(default_factory=dict)
    indicators: int = 0


def _spread(counts: dict[int, int], first: int | None, last: int | None, total: int) -> None:
    """Add ``total`` sightings between ``first`` and ``last``, evenly per day."""
    if first is None:
        return
    last = last if last is not None and last >= first else first
    start = first - first % DAY_US
    days = list(range(start, last + 1, DAY_US)) or [start]
    share, rest = divmod(total, len(days))
    for i, day in enumerate(days):
        counts[day] = counts.get(day, 0) + share + (1 if i < rest else 0)


def campaign_profiles(
    conn: Connection, principal: Principal, *, campaign_id: str | None = None
) -> list[CampaignProfile]:
    """Campaigns with their domains, IP addresses, URLs and senders (from the indicators
    that indicate them), their links to blasters and Global Titles, and their volume over time."""
    if campaign_id is not None:
        found = browse.latest(conn, principal, [campaign_id], include_vocabulary=False)
        campaigns = [found[campaign_id]] if campaign_id in found else []
    else:
        campaigns = browse.search(
            conn, principal, browse.SearchQuery(types=("campaign",), limit=500)
        ).rows
    profiles = []
    links = browse.Links(conn, principal)
    for campaign in campaigns:
        profile = CampaignProfile(campaign=campaign)
        indicator_ids, other_ids = set(), set()
        sighted: list[ObjectRow] = []
        for row in links.to(campaign.stix_id):
            obj = row.body
            if row.stix_type == "relationship":
                source, target = obj.get("source_ref"), obj.get("target_ref")
                kind = obj.get("relationship_type")
                if kind == "indicates" and target == campaign.stix_id and isinstance(source, str):
                    indicator_ids.add(source)
                elif source == campaign.stix_id and isinstance(target, str):
                    other_ids.add(target)
            elif row.stix_type == "sighting":
                sighted.append(row)
        resolved = browse.latest(conn, principal, indicator_ids | other_ids)
        for ident in sorted(indicator_ids):
            indicator = resolved.get(ident)
            if indicator is None:
                continue
            profile.indicators += 1
            pattern = str(indicator.body.get("pattern", ""))
            for stix_type, path, op, value in comparisons(pattern):
                if op != "=":
                    continue
                if stix_type == "domain-name" and path == "value":
                    profile.domains.append(value)
                elif stix_type in ("ipv4-addr", "ipv6-addr") and path == "value":
                    profile.ip_addresses.append(value)
                elif stix_type == "url" and path == "value":
                    profile.urls.append(value)
                elif stix_type == "sms-sender" and path == "value":
                    profile.senders.append(value)
            sighted.extend(
                s for s in links.to(ident, "sighting") if s.body.get("sighting_of_ref") == ident
            )
        for ident in sorted(other_ids):
            linked = resolved.get(ident)
            if linked is None:
                continue
            row = linked
            if row.stix_type == "cell-identity" or (
                row.stix_type == "indicator" and threat_of(row.body) == "SMS blaster"
            ):
                profile.blasters.append(row)
            elif row.stix_type == "global-title":
                profile.global_titles.append(row)
            elif row.stix_type == "attack-pattern":
                profile.techniques.append(row)
        volume: dict[int, int] = {}
        for row in {s.stix_id: s for s in sighted}.values():
            count = row.body.get("count")
            _spread(
                volume,
                _time(row.body, "first_seen"),
                _time(row.body, "last_seen"),
                count if isinstance(count, int) else 1,
            )
        profile.volume = dict(sorted(volume.items()))
        for values in (profile.domains, profile.ip_addresses, profile.urls, profile.senders):
            values[:] = sorted(set(values))
        profiles.append(profile)
    return profiles


def by_day(counts: Counter[tuple[int, str]]) -> dict[int, dict[str, int]]:
    """Regroup (day, threat) counts as day -> threat -> count, every day in order."""
    grouped: dict[int, dict[str, int]] = defaultdict(dict)
    for (day, threat), count in counts.items():
        grouped[day][threat] = count
    return dict(sorted(grouped.items()))
