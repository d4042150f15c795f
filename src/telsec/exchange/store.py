"""The object store: STIX object versions in collections, with TLP enforced on reads.

Writes (:func:`ingest`) validate each object, keep every valid one and report
each invalid one with its reason; a re-posted version is a success, not an
error.  ``date_added`` is assigned from a single database row so that it is
strictly increasing across the node, and writers are serialised on that row,
so commit order equals ``date_added`` order and ``added_after`` paging never
skips an object.

Reads (:func:`query`) apply the TAXII filters and the visibility rule in SQL:
an organisation with a read grant sees every object of the collection except
TLP:RED ones, which only their producer and the organisations named in the
RED-recipients extension see.  An object without a TLP marking takes the
collection's default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import aliased

from telsec.members import audit
from telsec.members.auth import Principal
from telsec.stix.ids import RED_RECIPIENTS_EXTENSION_ID
from telsec.stix.timestamps import format_timestamp, now_us, parse_timestamp, version_key
from telsec.stix.tlp import Tlp, tlp_of
from telsec.storage.models import Clock, Organisation, RedRecipient, StixObject, hash64

OBJECT_MEDIA_TYPE = "application/stix+json;version=2.1"
_OBJECTS_CLOCK_ROW = 1
AUDITED = Tlp.AMBER


@dataclass(frozen=True)
class CollectionScope:
    """A collection as seen by one principal."""

    pk: int
    id: str
    api_root: str
    default_tlp: Tlp
    can_read: bool
    can_write: bool
    #: The most restricted TLP this principal may receive (a peer node: GREEN,
    #: or AMBER where the collection's policy names it; everyone else: RED,
    #: with RED's own rule applied).
    tlp_ceiling: Tlp = Tlp.RED
    #: Versions this organisation stored are not served back to it (a peer
    #: node is not sent what it sent).
    exclude_producer: int | None = None


@dataclass
class IngestResult:
    # (id, version key); the key is empty for objects without created/modified
    successes: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    #: how many of the successes were new versions (the rest were already here)
    added: int = 0

    @property
    def total(self) -> int:
        return len(self.successes) + len(self.failures)


@dataclass
class _Candidate:
    stix_id: str
    stix_type: str
    version: str
    spec_version: str
    revoked: bool
    tlp: Tlp | None
    created_by_ref: str | None
    recipients: list[str]
    body: str
    versioned: bool  # SDO/SRO/meta: has created/modified and a producer
    id_hash: int
    version_hash: int


Validator = Callable[[Any], None]


def _extract(obj: dict[str, Any]) -> _Candidate:
    modified = obj.get("modified")
    created = obj.get("created")
    stamp = modified if isinstance(modified, str) else created if isinstance(created, str) else None
    recipients: list[str] = []
    extensions = obj.get("extensions")
    if isinstance(extensions, dict):
        ext = extensions.get(RED_RECIPIENTS_EXTENSION_ID)
        if isinstance(ext, dict) and isinstance(ext.get("recipients"), list):
            recipients = [r for r in ext["recipients"] if isinstance(r, str)]
    created_by = obj.get("created_by_ref")
    version = version_key(stamp) if stamp else ""
    return _Candidate(
        stix_id=obj["id"],
        stix_type=obj["type"],
        version=version,
        spec_version=str(obj.get("spec_version", "2.1")),
        revoked=obj.get("revoked") is True,
        tlp=tlp_of(obj),
        created_by_ref=created_by if isinstance(created_by, str) else None,
        recipients=recipients,
        body=orjson.dumps(obj).decode(),
        versioned=isinstance(created, str),
        id_hash=hash64(obj["id"]),
        version_hash=hash64(version),
    )


_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _has_nul(body: str) -> bool:
    """True if the JSON text encodes U+0000 (PostgreSQL cannot store it in JSONB)."""
    return "\\u0000" in body and _ESCAPED_NUL.search(body) is not None


def version_flags(versions: Sequence[tuple[str, bool]]) -> dict[str, tuple[bool, bool, bool]]:
    """(is_latest, is_first, below_red) for each version key of one object.

    ``versions`` are (version key, is TLP:RED) pairs.  When the newest version
    is RED, ``below_red`` marks the older versions that may be the newest one
    a caller who cannot see it does see: reads of ``last`` check those with a
    subquery, and only those.
    """
    ordered = sorted(versions)
    newest, oldest = ordered[-1][0], ordered[0][0]
    below: set[str] = set()
    if ordered[-1][1]:
        # Every older version down to the newest non-RED one may be the newest
        # a given caller sees (RED versions can name different recipients).
        for version, is_red in reversed(ordered[:-1]):
            below.add(version)
            if not is_red:
                break
    return {v: (v == newest, v == oldest, v in below) for v, _ in ordered}


def display_version(version: str, date_added_us: int) -> str:
    """The TAXII ``version`` of a stored row: its modified/created, else its date_added."""
    return version or format_timestamp(date_added_us)


@dataclass
class PreparedBatch:
    """Objects validated and ready to store, and those already rejected."""

    candidates: dict[tuple[str, str], _Candidate]
    result: IngestResult


def prepare(objects: Sequence[Any], validate: Validator) -> PreparedBatch:
    """Validate and index ``objects`` (CPU only: done before taking the write lock)."""
    result = IngestResult()
    candidates: dict[tuple[str, str], _Candidate] = {}
    for obj in objects:
        try:
            validate(obj)
            cand = _extract(obj)
        except (ValueError, TypeError) as exc:  # orjson.JSONEncodeError is a TypeError
            oid = obj.get("id") if isinstance(obj, dict) else None
            oid = oid if isinstance(oid, str) and len(oid) <= 300 else None
            result.failures.append((oid, _version_of(obj), str(exc)[:500]))
            continue
        if _has_nul(cand.body):
            result.failures.append(
                (
                    cand.stix_id,
                    cand.version or None,
                    "contains a NUL character (U+0000), which this server does not store",
                )
            )
            continue
        key = (cand.stix_id, cand.version)
        if key in candidates:
            # The same version twice in one envelope: the first one is stored.
            result.successes.append((cand.stix_id, cand.version))
            continue
        candidates[key] = cand
    return PreparedBatch(candidates, result)


def ingest(
    conn: Connection,
    scope: CollectionScope,
    principal: Principal,
    objects: Sequence[Any] | PreparedBatch,
    validate: Validator | None = None,
    *,
    replicas_from: frozenset[int] | None = None,
) -> IngestResult:
    """Store the valid objects among ``objects``, inside the caller's write transaction.

    ``objects`` may be raw objects (validated here with ``validate``) or a
    :class:`PreparedBatch` from :func:`prepare`, so that validation can run
    outside the transaction.

    ``replicas_from`` (federation) is the set of peer organisations: the
    principal is one of them, replicating another node's objects, so a version
    may follow versions that came through other peers; a version of an object
    produced on this node is still refused.
    """
    if replicas_from is not None and principal.org_id not in replicas_from:
        raise ValueError("a replicating principal must be a peer organisation")
    if not isinstance(objects, PreparedBatch):
        if validate is None:
            raise TypeError("raw objects need a validator")
        objects = prepare(objects, validate)
    candidates, result = objects.candidates, objects.result
    if replicas_from is None:
        _refuse_other_creators(conn, principal, candidates, result)
    if not candidates:
        return result
    # Take the writers' lock before reading what exists, so that two overlapping
    # POSTs of the same object cannot both decide it is new (PostgreSQL; on
    # SQLite the transaction already holds the database's write lock).
    last_us = _lock_clock(conn)

    by_id: dict[str, list[_Candidate]] = {}
    for cand in candidates.values():
        by_id.setdefault(cand.stix_id, []).append(cand)
    existing, occupied = _existing_versions(conn, scope.pk, list(candidates.values()))
    default_red = scope.default_tlp == Tlp.RED
    accepted: list[_Candidate] = []
    flags_of: list[tuple[bool, bool, bool]] = []
    flips: list[dict[str, Any]] = []
    for stix_id, versions in by_id.items():
        known = existing.get(stix_id)
        if known is None and len(versions) == 1:
            # The common case: a new object, one version of it.
            only = versions[0]
            if _claim(occupied, only):
                accepted.append(only)
                flags_of.append(_ONLY_VERSION)
            else:
                result.failures.append((stix_id, only.version or None, _COLLISION))
            continue
        known = known or []
        known_keys = {k.version for k in known}
        revoked = [k.version for k in known if k.revoked]
        fresh: list[_Candidate] = []
        for cand in sorted(versions, key=lambda c: c.version):
            if cand.version in known_keys:
                result.successes.append((stix_id, cand.version))
                continue
            problem = _conflict(cand, known, revoked, principal, replicas_from)
            if not problem and not _claim(occupied, cand):
                problem = _COLLISION
            if problem:
                result.failures.append((stix_id, cand.version or None, problem))
                continue
            fresh.append(cand)
            if cand.revoked:
                revoked.append(cand.version)
        if not fresh:
            continue
        flags = version_flags(
            [(k.version, default_red if k.tlp is None else k.tlp == Tlp.RED) for k in known]
            + [(c.version, default_red if c.tlp is None else c.tlp == Tlp.RED) for c in fresh]
        )
        for row in known:
            if flags[row.version] != (row.is_latest, row.is_first, row.below_red):
                latest, first, below = flags[row.version]
                flips.append(
                    {
                        "b_seq": row.seq,
                        "b_latest": latest,
                        "b_first": first,
                        "b_below": below,
                        "b_maybe": latest or below,
                    }
                )
        for cand in fresh:
            accepted.append(cand)
            flags_of.append(flags[cand.version])
    if not accepted:
        return result

    first_us = _reserve_date_added(conn, last_us, len(accepted))
    if flips:
        conn.execute(
            update(StixObject)
            .where(StixObject.seq == bindparam("b_seq"))
            .values(
                is_latest=bindparam("b_latest"),
                is_first=bindparam("b_first"),
                below_red=bindparam("b_below"),
                maybe_last=bindparam("b_maybe"),
            ),
            flips,
        )
    producer = principal.org_id
    _bulk_insert(
        conn,
        [
            (
                scope.pk,
                cand.stix_id,
                cand.stix_type,
                cand.version,
                cand.spec_version,
                first_us + offset,
                latest,
                first,
                below,
                latest or below,
                cand.revoked,
                None if cand.tlp is None else int(cand.tlp),
                producer,
                cand.created_by_ref,
                cand.body,
                cand.id_hash,
                cand.version_hash,
            )
            for offset, (cand, (latest, first, below)) in enumerate(
                zip(accepted, flags_of, strict=True)
            )
        ],
    )
    _store_recipients(conn, accepted, first_us)
    result.successes.extend((cand.stix_id, cand.version) for cand in accepted)
    result.added = len(accepted)
    _audit_writes(conn, scope, principal, accepted, first_us)
    return result


def _refuse_other_creators(
    conn: Connection,
    principal: Principal,
    candidates: dict[tuple[str, str], _Candidate],
    result: IngestResult,
) -> None:
    """Refuse (and drop from ``candidates``) the objects whose ``created_by_ref``
    is another member organisation's identity: readers take ``created_by_ref``
    for who vouches for an object, so a member may not post in another's name.
    Identities that are no member's (a vendor's report relayed, telsec's own)
    are kept; federation's replication, which carries other nodes' objects as
    they are, does not come through here."""
    named = {
        cand.created_by_ref
        for cand in candidates.values()
        if cand.created_by_ref is not None and cand.created_by_ref != principal.org_identity
    }
    if not named:
        return
    members = dict(
        conn.execute(
            select(Organisation.identity_id, Organisation.name).where(
                Organisation.identity_id.in_(sorted(named))
            )
        ).all()
    )
    if not members:
        return
    for key, cand in list(candidates.items()):
        other = members.get(cand.created_by_ref) if cand.created_by_ref else None
        if other is not None:
            del candidates[key]
            result.failures.append(
                (
                    cand.stix_id,
                    cand.version or None,
                    f"created_by_ref is the identity of {other}, another member organisation: "
                    f"{principal.org_name} may post only objects it created",
                )
            )


#: (is_latest, is_first, below_red) of an object's only version
_ONLY_VERSION = (True, True, False)


def _claim(occupied: _Occupied, cand: _Candidate) -> bool:
    """Take ``cand``'s index key; False if another version already holds it."""
    key = (cand.id_hash, cand.version_hash)
    holder = occupied.setdefault(key, (cand.stix_id, cand.version))
    return holder == (cand.stix_id, cand.version)


_INSERT_COLUMNS = (
    "collection_pk",
    "stix_id",
    "stix_type",
    "version",
    "spec_version",
    "date_added_us",
    "is_latest",
    "is_first",
    "below_red",
    "maybe_last",
    "revoked",
    "tlp",
    "producer_org_id",
    "created_by_ref",
    "body",
    "id_hash",
    "version_hash",
)


_COPY_SQL = f"COPY stix_objects ({', '.join(_INSERT_COLUMNS)}) FROM STDIN"
_INSERT_SQL = (
    f"INSERT INTO stix_objects ({', '.join(_INSERT_COLUMNS)}) "  # noqa: S608 - constants only
    f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)})"
)


def _bulk_insert(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    """Insert object versions (tuples in ``_INSERT_COLUMNS`` order) the fastest
    way each back-end offers.

    PostgreSQL: ``COPY ... FROM STDIN`` (the server parses each body into its
    generated JSONB column).  SQLite: the driver's ``executemany``.  Both run inside the
    caller's transaction.
    """
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(_COPY_SQL) as copy:
            for value in values:
                copy.write_row(value)
    elif conn.dialect.name == "sqlite":
        cursor = raw.cursor()
        try:
            cursor.executemany(_INSERT_SQL, values)
        finally:
            cursor.close()
    else:
        conn.execute(
            insert(StixObject), [dict(zip(_INSERT_COLUMNS, v, strict=True)) for v in values]
        )


def _version_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        stamp = obj.get("modified") or obj.get("created")
        if isinstance(stamp, str) and len(stamp) <= 40:
            return stamp
    return None


@dataclass(frozen=True)
class _Known:
    seq: int
    version: str
    is_latest: bool
    is_first: bool
    below_red: bool
    revoked: bool
    producer_org_id: int
    tlp: int | None


_KNOWN_COLUMNS = (
    "stix_id, seq, version, is_latest, is_first, below_red, revoked, producer_org_id, tlp, "
    "id_hash, version_hash"
)
#: the versions already stored under a list of id hashes, the list passed as one
#: parameter (a JSON array on SQLite, an array on PostgreSQL): no statement to
#: compile per batch, as an IN list of 1,000 bound values would need
_KNOWN_SQL = {
    "sqlite": f"SELECT {_KNOWN_COLUMNS} FROM stix_objects WHERE collection_pk = ? "  # noqa: S608
    "AND id_hash IN (SELECT value FROM json_each(?))",
    "postgresql": f"SELECT {_KNOWN_COLUMNS} FROM stix_objects WHERE collection_pk = %s "  # noqa: S608
    "AND id_hash = ANY(%s::bigint[])",
}

#: (id_hash, version_hash) -> (stix_id, version) of the versions that hold it
_Occupied = dict[tuple[int, int], tuple[str, str]]

_COLLISION = (
    "cannot be stored: its id and version hash to the same index key as another stored "
    "version's (a 1-in-2**64 event); please report it to the node's operators"
)


def _existing_versions(
    conn: Connection, collection_pk: int, candidates: Sequence[_Candidate]
) -> tuple[dict[str, list[_Known]], _Occupied]:
    """The stored versions of the candidates' ids, by id, and every index key
    those lookups met (with a hash collision, keys of other ids too)."""
    found: dict[str, list[_Known]] = {}
    occupied: _Occupied = {}
    dialect = conn.dialect.name
    hashes = list({c.id_hash for c in candidates})
    param = orjson.dumps(hashes).decode() if dialect == "sqlite" else hashes
    wanted = {c.stix_id for c in candidates}
    rows = conn.exec_driver_sql(_KNOWN_SQL[dialect], (collection_pk, param)).all()
    for row in rows:
        stix_id, seq, version, latest, first, below, revoked, producer, tlp, ih, vh = row
        occupied[(ih, vh)] = (stix_id, version)
        if stix_id not in wanted:
            continue
        found.setdefault(stix_id, []).append(
            _Known(
                seq,
                version,
                bool(latest),
                bool(first),
                bool(below),
                bool(revoked),
                producer,
                tlp,
            )
        )
    return found, occupied


def _conflict(
    cand: _Candidate,
    known: list[_Known],
    revoked: list[str],
    principal: Principal,
    replicas_from: frozenset[int] | None = None,
) -> str | None:
    if not cand.versioned:
        return None
    allowed = replicas_from if replicas_from is not None else (principal.org_id,)
    if any(k.producer_org_id not in allowed for k in known):
        # The same answer whether or not the caller may see that object: knowing
        # a random (UUIDv4) SDO id is the precondition for learning anything.
        return (
            "this id already belongs to an object of another producer; only its producer "
            "may add versions"
        )
    if revoked and cand.version > min(revoked):
        return "the object has been revoked; no newer version may be added (STIX 2.1 section 3.6)"
    return None


def _lock_clock(conn: Connection) -> int:
    """Lock the clock row until commit (serialising writers) and read it."""
    query = select(Clock.last_us).where(Clock.id == _OBJECTS_CLOCK_ROW)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return int(conn.execute(query).scalar_one())


def _reserve_date_added(conn: Connection, last: int, count: int) -> int:
    """Reserve ``count`` consecutive date_added values after ``last``."""
    first = max(now_us(), last + 1)
    conn.execute(
        text("UPDATE clock SET last_us = :last WHERE id = :id"),
        {"last": first + count - 1, "id": _OBJECTS_CLOCK_ROW},
    )
    return first


def _store_recipients(conn: Connection, accepted: list[_Candidate], first_us: int) -> None:
    wanted = {
        first_us + offset: cand.recipients
        for offset, cand in enumerate(accepted)
        if cand.recipients
    }
    if not wanted:
        return
    seqs = conn.execute(
        select(StixObject.date_added_us, StixObject.seq).where(
            StixObject.date_added_us.in_(list(wanted))
        )
    ).all()
    conn.execute(
        insert(RedRecipient),
        [
            {"object_seq": seq, "identity_id": identity}
            for added, seq in seqs
            for identity in dict.fromkeys(wanted[added])
        ],
    )


_TLP_BY_VALUE = tuple(Tlp)


def _effective_tlp(tlp: int | None, scope: CollectionScope) -> Tlp:
    return scope.default_tlp if tlp is None else _TLP_BY_VALUE[tlp]


def _audit_writes(
    conn: Connection,
    scope: CollectionScope,
    principal: Principal,
    accepted: Sequence[_Candidate],
    first_us: int,
) -> None:
    groups: dict[Tlp, list[tuple[str, str]]] = {}
    default = scope.default_tlp
    for offset, cand in enumerate(accepted):
        level = default if cand.tlp is None else cand.tlp
        if level >= AUDITED:
            groups.setdefault(level, []).append(
                (cand.stix_id, display_version(cand.version, first_us + offset))
            )
    _append_audit(conn, scope, principal, groups, "write", "")


# --------------------------------------------------------------------- reads


@dataclass(frozen=True)
class Filters:
    """TAXII 2.1 filters, already validated."""

    added_after_us: int | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)  # "last", "first", "all" or version keys
    spec_versions: tuple[str, ...] = ()

    def fingerprint(self, endpoint: str) -> str:
        """What a ``next`` token is bound to (everything but the page position and size)."""
        return orjson.dumps(
            [
                endpoint,
                self.added_after_us,
                sorted(self.ids),
                sorted(self.types),
                sorted(self.versions),
                sorted(self.spec_versions),
            ]
        ).decode()


@dataclass(frozen=True)
class StoredVersion:
    stix_id: str
    version: str
    date_added_us: int
    tlp: Tlp
    body: str | None


@dataclass(frozen=True)
class Page:
    items: list[StoredVersion]
    more: bool

    @property
    def first_added(self) -> int | None:
        return self.items[0].date_added_us if self.items else None

    @property
    def last_added(self) -> int | None:
        return self.items[-1].date_added_us if self.items else None


def visible(
    scope: CollectionScope, principal: Principal, table: Any = StixObject
) -> ColumnElement[bool]:
    """SQL condition: the object version (in ``table``, or an alias of it) may be shown."""
    # COALESCE applies the collection default to unmarked versions and keeps
    # the condition two-valued (a bare NULL comparison would hide them all).
    restricted = func.coalesce(table.tlp, int(scope.default_tlp)) == int(Tlp.RED)
    entitled = or_(
        table.producer_org_id == principal.org_id,
        table.created_by_ref == principal.org_identity,
        exists().where(
            RedRecipient.object_seq == table.seq,
            RedRecipient.identity_id == principal.org_identity,
        ),
    )
    condition = or_(~restricted, entitled)
    if scope.tlp_ceiling < Tlp.RED:
        capped = func.coalesce(table.tlp, int(scope.default_tlp)) <= int(scope.tlp_ceiling)
        condition = and_(condition, capped)
    if scope.exclude_producer is not None:
        condition = and_(condition, table.producer_org_id != scope.exclude_producer)
    return condition


def _version_clause(
    versions: Sequence[str],
    scope: CollectionScope | None = None,
    principal: Principal | None = None,
) -> ColumnElement[bool]:
    if "all" in versions:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if "last" in versions:
        if scope is None or principal is None:
            clauses.append(StixObject.is_latest == true())
        else:
            # maybe_last (indexed) is the newest version plus, when that one is
            # RED, the older versions that may be the newest this caller sees;
            # only for the latter does the subquery run.
            newer = aliased(StixObject)
            clauses.append(
                and_(
                    StixObject.maybe_last == true(),
                    or_(
                        StixObject.is_latest == true(),
                        ~exists().where(
                            newer.collection_pk == StixObject.collection_pk,
                            newer.id_hash == StixObject.id_hash,
                            newer.stix_id == StixObject.stix_id,
                            newer.version > StixObject.version,
                            visible(scope, principal, newer),
                        ),
                    ),
                )
            )
    if "first" in versions:
        clauses.append(StixObject.is_first == true())
    keys = [v for v in versions if v not in ("last", "first")]
    if keys:
        clauses.append(StixObject.version.in_(keys))
        # Objects without created/modified are versioned by their date_added.
        clauses.append(
            and_(
                StixObject.version == "",
                StixObject.date_added_us.in_([parse_timestamp(k) for k in keys]),
            )
        )
    return or_(*clauses) if clauses else false()


def readable(
    scope: CollectionScope, principal: Principal, versions: Sequence[str] = ("last",)
) -> ColumnElement[bool]:
    """SQL condition: a version of ``scope`` that ``principal`` may read, among ``versions``
    (``last``: the newest version this principal sees of each object)."""
    return and_(
        StixObject.collection_pk == scope.pk,
        _version_clause(versions, scope, principal),
        visible(scope, principal),
    )


def effective_tlp(tlp: int | None, scope: CollectionScope) -> Tlp:
    """The TLP of a stored version: its marking, else the collection's default."""
    return _effective_tlp(tlp, scope)


def query(
    conn: Connection,
    scope: CollectionScope,
    principal: Principal,
    filters: Filters,
    *,
    limit: int,
    after_us: int | None = None,
    with_body: bool = True,
) -> Page:
    """One page of visible object versions in ``date_added`` order."""
    columns = [StixObject.stix_id, StixObject.version, StixObject.date_added_us, StixObject.tlp]
    if with_body:
        columns.append(StixObject.body)
    conditions: list[ColumnElement[bool]] = [
        StixObject.collection_pk == scope.pk,
        _version_clause(filters.versions, scope, principal),
        visible(scope, principal),
    ]
    floor = max(filters.added_after_us or -1, after_us if after_us is not None else -1)
    if floor >= 0:
        conditions.append(StixObject.date_added_us > floor)
    if filters.ids:
        conditions.append(StixObject.has_id_in(filters.ids))
    if filters.types:
        conditions.append(StixObject.stix_type.in_(filters.types))
    if filters.spec_versions:
        conditions.append(StixObject.spec_version.in_(filters.spec_versions))
    rows: Sequence[Any] = conn.execute(
        select(*columns)
        .where(and_(*conditions))
        .order_by(StixObject.date_added_us)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    items = [
        StoredVersion(
            stix_id=row[0],
            version=display_version(row[1], row[2]),
            date_added_us=row[2],
            tlp=_effective_tlp(row[3], scope),
            body=row[4] if with_body else None,
        )
        for row in rows[:limit]
    ]
    return Page(items=items, more=more)


def audit_read(
    conn: Connection,
    scope: CollectionScope,
    principal: Principal,
    items: Sequence[StoredVersion],
    action: str = "read",
    minimum: Tlp = AUDITED,
    detail: str = "",
) -> None:
    """Record the versions among ``items`` at ``minimum`` TLP and above (AMBER
    unless said) as accessed by ``principal``, one entry per TLP level."""
    groups: dict[Tlp, list[tuple[str, str]]] = {}
    for item in items:
        if item.tlp >= minimum:
            groups.setdefault(item.tlp, []).append((item.stix_id, item.version))
    _append_audit(conn, scope, principal, groups, action, detail)


def _append_audit(
    conn: Connection,
    scope: CollectionScope,
    principal: Principal,
    groups: dict[Tlp, list[tuple[str, str]]],
    action: str,
    detail: str,
) -> None:
    """One audit entry per TLP level of ``groups`` (object id, version pairs)."""
    audit.append(
        conn,
        [
            audit.NewEntry(
                org_id=principal.org_id,
                actor=principal.actor,
                action=action,
                api_root=scope.api_root,
                collection_id=scope.id,
                tlp=level,
                objects=objects,
                detail=detail,
            )
            for level, objects in sorted(groups.items())
        ],
    )


def needs_audit(items: Sequence[StoredVersion]) -> bool:
    return any(item.tlp >= AUDITED for item in items)


def delete_versions(
    conn: Connection, scope: CollectionScope, principal: Principal, stix_id: str, filters: Filters
) -> list[StoredVersion]:
    """Delete the visible versions of ``stix_id`` matching ``filters``; returns them."""
    conditions = [
        StixObject.collection_pk == scope.pk,
        StixObject.has_id(stix_id),
        _version_clause(filters.versions, scope, principal),
        visible(scope, principal),
    ]
    if filters.spec_versions:
        conditions.append(StixObject.spec_version.in_(filters.spec_versions))
    # Only the producing organisation deletes its objects over TAXII; a node's
    # operators remove anything else with the database tools.
    conditions.append(StixObject.producer_org_id == principal.org_id)
    rows = conn.execute(
        select(StixObject.seq, StixObject.version, StixObject.date_added_us, StixObject.tlp).where(
            and_(*conditions)
        )
    ).all()
    if not rows:
        return []
    seqs = [r.seq for r in rows]
    conn.execute(delete(RedRecipient).where(RedRecipient.object_seq.in_(seqs)))
    conn.execute(delete(StixObject).where(StixObject.seq.in_(seqs)))
    _recompute_flags(conn, scope, stix_id)
    removed = [
        StoredVersion(
            stix_id,
            display_version(r.version, r.date_added_us),
            r.date_added_us,
            _effective_tlp(r.tlp, scope),
            None,
        )
        for r in rows
    ]
    audit_read(conn, scope, principal, removed, action="delete")
    return removed


def _recompute_flags(conn: Connection, scope: CollectionScope, stix_id: str) -> None:
    remaining = conn.execute(
        select(StixObject.seq, StixObject.version, StixObject.tlp).where(
            StixObject.collection_pk == scope.pk, StixObject.has_id(stix_id)
        )
    ).all()
    if not remaining:
        return
    flags = version_flags([(r.version, _effective_tlp(r.tlp, scope) == Tlp.RED) for r in remaining])
    conn.execute(
        update(StixObject)
        .where(StixObject.seq == bindparam("b_seq"))
        .values(
            is_latest=bindparam("b_latest"),
            is_first=bindparam("b_first"),
            below_red=bindparam("b_below"),
            maybe_last=bindparam("b_maybe"),
        ),
        [
            {
                "b_seq": r.seq,
                "b_latest": f[0],
                "b_first": f[1],
                "b_below": f[2],
                "b_maybe": f[0] or f[2],
            }
            for r in remaining
            for f in [flags[r.version]]
        ],
    )


def count_objects(conn: Connection, collection_pk: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(StixObject)
            .where(StixObject.collection_pk == collection_pk)
        ).scalar_one()
    )
