"""Reading the exchange as an analyst does: search, one object and what touches it.

Everything here goes through the same two gates as TAXII: the collections a
principal may read (:func:`telsec.exchange.access.readable_collections`) and
the per-version visibility condition (:func:`telsec.exchange.store.readable`),
so a TLP:RED object is invisible to an organisation that is neither its
producer nor a named recipient, whichever page asks.  Results are
:class:`ObjectRow`, one visible version in one collection.

Reads that return AMBER or above are written to the audit log by the caller
(:func:`audit_rows`), as TAXII reads are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, and_, false, func, or_, select

from telsec.exchange import access, store
from telsec.members.auth import Principal
from telsec.stix.tlp import Tlp
from telsec.storage.models import Organisation, StixObject

#: the most rows one search reads before it gives up filling a page
SCAN_LIMIT = 20_000
_BATCH = 500


@dataclass(frozen=True)
class ObjectRow:
    """One visible version of one object in one collection."""

    stix_id: str
    stix_type: str
    version: str
    date_added_us: int
    tlp: Tlp
    collection: access.VisibleCollection
    producer_org_id: int
    body_text: str

    @cached_property
    def body(self) -> dict[str, Any]:
        value = orjson.loads(self.body_text)
        return value if isinstance(value, dict) else {}

    @property
    def name(self) -> str:
        """What a person would call the object."""
        return display_name(self.body)

    @property
    def labels(self) -> list[str]:
        labels = self.body.get("labels")
        return [x for x in labels if isinstance(x, str)] if isinstance(labels, list) else []

    @property
    def collection_name(self) -> str:
        return self.collection.alias or self.collection.scope.id


def display_name(obj: dict[str, Any]) -> str:
    """A short human name for any STIX object."""
    for key in ("name", "abstract", "value", "digits"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    stix_type = str(obj.get("type", ""))
    if stix_type == "relationship":
        return f"{_type_of(obj.get('source_ref'))} {obj.get('relationship_type', '')} " + str(
            _type_of(obj.get("target_ref"))
        )
    if stix_type == "sighting":
        return f"sighting of {_type_of(obj.get('sighting_of_ref'))} x{obj.get('count', '?')}"
    if stix_type == "cell-identity":
        area = obj.get("lac", obj.get("tac", "?"))
        cell = obj.get("cid", obj.get("eci", obj.get("nci", "?")))
        return f"{obj.get('rat', '?')} {obj.get('mcc', '?')}/{obj.get('mnc', '?')} {area}/{cell}"
    if stix_type == "observed-data":
        return f"observed x{obj.get('number_observed', '?')}"
    if stix_type == "location":
        lat, lon = obj.get("latitude"), obj.get("longitude")
        return f"{lat}, {lon}" if lat is not None else str(obj.get("country", "location"))
    pattern = obj.get("pattern")
    if isinstance(pattern, str):
        return pattern
    return str(obj.get("id", ""))


def _type_of(ref: Any) -> str:
    return ref.split("--", 1)[0] if isinstance(ref, str) else "?"


# ------------------------------------------------------------------ search


@dataclass(frozen=True)
class SearchQuery:
    """Filters for :func:`search`; empty means any."""

    text: str = ""
    types: tuple[str, ...] = ()
    tlps: tuple[Tlp, ...] = ()
    label: str = ""
    producer: str = ""  # organisation name
    collection: str = ""  # collection id or alias
    since_us: int | None = None  # date added, inclusive
    until_us: int | None = None  # date added, exclusive
    before_us: int | None = None  # paging: date added of the last row shown
    limit: int = 50
    include_vocabulary: bool = False


@dataclass
class SearchResult:
    rows: list[ObjectRow]
    more: bool
    scanned: int = 0
    next_before_us: int | None = None


def readable(conn: Connection, principal: Principal) -> list[access.VisibleCollection]:
    return access.readable_collections(conn, principal)


def _scoped(
    collections: Sequence[access.VisibleCollection],
    principal: Principal,
    versions: Sequence[str] = ("last",),
    tlps: Sequence[Tlp] = (),
) -> ColumnElement[bool]:
    clauses = []
    for coll in collections:
        clause = store.readable(coll.scope, principal, versions)
        if tlps:
            level = func.coalesce(StixObject.tlp, int(coll.scope.default_tlp))
            clause = and_(clause, level.in_([int(t) for t in tlps]))
        clauses.append(clause)
    return or_(*clauses) if clauses else false()


_COLUMNS = (
    StixObject.stix_id,
    StixObject.stix_type,
    StixObject.version,
    StixObject.date_added_us,
    StixObject.tlp,
    StixObject.collection_pk,
    StixObject.producer_org_id,
    StixObject.body,
)


def _rows(
    conn: Connection,
    collections: Sequence[access.VisibleCollection],
    conditions: Sequence[ColumnElement[bool]],
    *,
    limit: int,
    newest_first: bool = True,
) -> list[ObjectRow]:
    by_pk = {c.scope.pk: c for c in collections}
    order = StixObject.date_added_us.desc() if newest_first else StixObject.date_added_us
    result = conn.execute(select(*_COLUMNS).where(and_(*conditions)).order_by(order).limit(limit))
    rows = []
    for r in result:
        coll = by_pk[r.collection_pk]
        rows.append(
            ObjectRow(
                stix_id=r.stix_id,
                stix_type=r.stix_type,
                version=store.display_version(r.version, r.date_added_us),
                date_added_us=r.date_added_us,
                tlp=store.effective_tlp(r.tlp, coll.scope),
                collection=coll,
                producer_org_id=r.producer_org_id,
                body_text=r.body,
            )
        )
    return rows


def _contains(text: str) -> ColumnElement[bool]:
    """The JSON text of the object contains ``text`` (case-insensitive)."""
    return func.lower(StixObject.body).contains(text.lower(), autoescape=True)


def _matches_text(row: ObjectRow, text: str) -> bool:
    """The words of ``text`` all appear in the object's values (not its property names)."""
    haystack = " ".join(_strings(row.body)).lower()
    return all(word in haystack for word in text.lower().split())


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def search(conn: Connection, principal: Principal, query: SearchQuery) -> SearchResult:
    """The newest visible objects matching ``query``, newest first (latest versions only)."""
    collections = [
        c
        for c in readable(conn, principal)
        if (query.include_vocabulary or not c.is_vocabulary or query.collection)
        and (not query.collection or query.collection in (c.scope.id, c.alias))
    ]
    conditions: list[ColumnElement[bool]] = [_scoped(collections, principal, tlps=query.tlps)]
    if query.types:
        conditions.append(StixObject.stix_type.in_(query.types))
    if query.since_us is not None:
        conditions.append(StixObject.date_added_us >= query.since_us)
    if query.until_us is not None:
        conditions.append(StixObject.date_added_us < query.until_us)
    if query.producer:
        org = conn.execute(
            select(Organisation.id).where(Organisation.name == query.producer)
        ).scalar()
        conditions.append(StixObject.producer_org_id == (org if org is not None else -1))
    words = query.text.split()
    for word in words:
        conditions.append(_contains(word))
    if query.label:
        conditions.append(_contains(query.label))
    found: list[ObjectRow] = []
    shown: set[str] = set()  # an object held in several collections is listed once
    scanned = 0
    before = query.before_us
    more = False
    # rows that pass the SQL filters may still fail the exact checks below, so
    # read in batches until the page is full; never fewer rows than asked for
    budget = max(SCAN_LIMIT, query.limit + 1)
    size = min(max(2 * query.limit, _BATCH), 5000)
    while True:
        window = list(conditions)
        if before is not None:
            window.append(StixObject.date_added_us < before)
        batch = _rows(conn, collections, window, limit=size)
        scanned += len(batch)
        for row in batch:
            if words and not _matches_text(row, query.text):
                continue
            if query.label and query.label not in row.labels:
                continue
            if row.stix_id in shown:
                continue
            if len(found) == query.limit:
                more = True
                break
            found.append(row)
            shown.add(row.stix_id)
        if more or len(batch) < size or scanned >= budget:
            more = more or (len(batch) == size and scanned >= budget)
            break
        before = batch[-1].date_added_us
    return SearchResult(
        rows=found,
        more=more,
        scanned=scanned,
        next_before_us=found[-1].date_added_us if more and found else None,
    )


# ------------------------------------------------------------ one object


def latest(
    conn: Connection, principal: Principal, ids: Iterable[str], *, include_vocabulary: bool = True
) -> dict[str, ObjectRow]:
    """The newest visible version of each of ``ids`` (any collection)."""
    wanted = sorted({i for i in ids if isinstance(i, str)})
    if not wanted:
        return {}
    collections = [
        c for c in readable(conn, principal) if include_vocabulary or not c.is_vocabulary
    ]
    found: dict[str, ObjectRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in _rows(
            conn,
            collections,
            [_scoped(collections, principal), StixObject.has_id_in(chunk)],
            limit=len(chunk) * 8,
        ):
            held = found.get(row.stix_id)
            if held is None or row.version > held.version:
                found[row.stix_id] = row
    return found


def versions(conn: Connection, principal: Principal, stix_id: str) -> list[ObjectRow]:
    """Every visible version of ``stix_id`` in every readable collection, newest first."""
    collections = readable(conn, principal)
    rows = _rows(
        conn,
        collections,
        [_scoped(collections, principal, versions=("all",)), StixObject.has_id(stix_id)],
        limit=1000,
    )
    return sorted(rows, key=lambda r: (r.version, r.date_added_us), reverse=True)


def referencing(
    conn: Connection,
    principal: Principal,
    stix_ids: str | Sequence[str],
    *,
    types: Sequence[str] = (),
    limit: int = 500,
) -> list[ObjectRow]:
    """Latest visible objects that name one of ``stix_ids`` in their ``*_ref(s)``
    (one scan for all of them)."""
    wanted = [stix_ids] if isinstance(stix_ids, str) else list(dict.fromkeys(stix_ids))
    if not wanted:
        return []
    collections = readable(conn, principal)
    conditions = [
        _scoped(collections, principal),
        or_(*(_contains(f'"{stix_id}"') for stix_id in wanted)),
        StixObject.stix_id.not_in(wanted),
    ]
    if types:
        conditions.append(StixObject.stix_type.in_(types))
    rows = _rows(conn, collections, conditions, limit=limit * len(wanted))
    targets = set(wanted)
    return [r for r in _newest_per_id(rows) if targets.intersection(references(r.body))]


class Links:
    """Relationships and sightings visible to a reader, indexed by the ids they name:
    one read for a whole page (campaigns, the map) instead of one scan per object."""

    def __init__(self, conn: Connection, principal: Principal) -> None:
        rows = search(
            conn,
            principal,
            SearchQuery(types=("relationship", "sighting"), limit=SCAN_LIMIT),
        ).rows
        self.truncated = len(rows) >= SCAN_LIMIT
        self._by_ref: dict[str, list[ObjectRow]] = {}
        for row in rows:
            for ref in set(references(row.body)):
                self._by_ref.setdefault(ref, []).append(row)

    def to(self, stix_id: str, stix_type: str | None = None) -> list[ObjectRow]:
        """The relationships and sightings that name ``stix_id``."""
        rows = self._by_ref.get(stix_id, [])
        return [r for r in rows if stix_type is None or r.stix_type == stix_type]


def _newest_per_id(rows: Iterable[ObjectRow]) -> list[ObjectRow]:
    best: dict[str, ObjectRow] = {}
    for row in rows:
        held = best.get(row.stix_id)
        if held is None or row.version > held.version:
            best[row.stix_id] = row
    return sorted(best.values(), key=lambda r: r.date_added_us, reverse=True)


def references(obj: dict[str, Any]) -> list[str]:
    """The ids an object refers to through its top-level ``*_ref`` and ``*_refs`` properties
    (markings and the producer left out)."""
    out: list[str] = []
    for key, value in obj.items():
        if key in ("object_marking_refs", "created_by_ref"):
            continue
        if key.endswith("_ref") and isinstance(value, str):
            out.append(value)
        elif key.endswith("_refs") and isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


@dataclass
class Edge:
    """A line in an object's graph: from one node to another, with a label."""

    source: str
    target: str
    label: str
    via: str  # the relationship or referencing object's id, or "" for a direct reference


@dataclass
class Neighbourhood:
    """An object with what it points to and what points to it, all visible to the reader."""

    centre: ObjectRow
    nodes: dict[str, ObjectRow] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    sightings: list[ObjectRow] = field(default_factory=list)
    relationships: list[ObjectRow] = field(default_factory=list)
    referenced_by: list[ObjectRow] = field(default_factory=list)


def neighbourhood(conn: Connection, principal: Principal, centre: ObjectRow) -> Neighbourhood:
    """Relationships, sightings, referencing objects and references of ``centre``."""
    hood = Neighbourhood(centre=centre)
    hood.nodes[centre.stix_id] = centre
    incoming = referencing(conn, principal, centre.stix_id)
    other_ends: list[str] = []
    for row in incoming:
        obj = row.body
        if row.stix_type == "relationship":
            hood.relationships.append(row)
            source, target = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(source, str) and isinstance(target, str):
                other_ends.extend([source, target])
                hood.edges.append(
                    Edge(source, target, str(obj.get("relationship_type", "")), row.stix_id)
                )
        elif row.stix_type == "sighting" and obj.get("sighting_of_ref") == centre.stix_id:
            hood.sightings.append(row)
            hood.nodes[row.stix_id] = row
            hood.edges.append(Edge(row.stix_id, centre.stix_id, "sighting of", row.stix_id))
        else:
            hood.referenced_by.append(row)
            hood.nodes[row.stix_id] = row
            hood.edges.append(Edge(row.stix_id, centre.stix_id, "refers to", row.stix_id))
    outgoing = references(centre.body)
    for ref in outgoing:
        hood.edges.append(Edge(centre.stix_id, ref, "refers to", ""))
    resolved = latest(conn, principal, [*other_ends, *outgoing])
    hood.nodes.update(resolved)
    # only lines between nodes the reader may see
    hood.edges = [e for e in hood.edges if e.source in hood.nodes and e.target in hood.nodes]
    return hood


# ------------------------------------------------------------ producers


def organisation_names(conn: Connection) -> dict[int, str]:
    return {r.id: r.name for r in conn.execute(select(Organisation.id, Organisation.name))}


def identity_names(conn: Connection) -> dict[str, str]:
    """Organisation names by their STIX identity id."""
    return {
        r.identity_id: r.name
        for r in conn.execute(select(Organisation.identity_id, Organisation.name))
    }


def audit_rows(
    conn: Connection, principal: Principal, rows: Iterable[ObjectRow], detail: str
) -> None:
    """Write the AMBER-and-above versions among ``rows`` to the audit log, per collection."""
    groups: dict[int, tuple[access.VisibleCollection, list[store.StoredVersion]]] = {}
    for row in rows:
        if row.tlp < store.AUDITED:
            continue
        entry = groups.setdefault(row.collection.scope.pk, (row.collection, []))
        entry[1].append(
            store.StoredVersion(row.stix_id, row.version, row.date_added_us, row.tlp, None)
        )
    for coll, items in groups.values():
        store.audit_read(conn, coll.scope, principal, items, action="read", detail=detail)


_DIGITS = re.compile(r"^[0-9]{1,15}$")


def normalise_digits(text: str) -> str | None:
    """A Global Title's address digits from what a person types (``+44 7781 000410``)."""
    cleaned = re.sub(r"[\s\-().]", "", text.strip())
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    elif cleaned.startswith("00"):
        cleaned = cleaned[2:]
    return cleaned if _DIGITS.match(cleaned) else None
