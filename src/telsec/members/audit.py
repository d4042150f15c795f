"""The append-only audit log of access to AMBER, AMBER+STRICT and RED objects.

Each entry records who (organisation and token or user), what (read, write,
delete), where (API root, collection), the TLP level and the object versions
concerned.  Entries are hash-chained: ``entry_hash`` is the SHA-256 of the
entry's content and the previous entry's hash, so :func:`verify_chain` detects
an edited or removed row; the database itself refuses UPDATE and DELETE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.orm import Session

from telsec.stix.timestamps import now_us
from telsec.stix.tlp import Tlp
from telsec.storage.models import AuditEntry

GENESIS = "0" * 64
_AUDIT_LOCK_ROW = 2


_INSERT = insert(AuditEntry)  # parameters per call: one compiled statement, cached


@dataclass(frozen=True)
class NewEntry:
    """What the caller says of one access; the log adds the time and the chain."""

    org_id: int | None
    actor: str
    action: str
    api_root: str | None
    collection_id: str | None
    tlp: Tlp | None
    objects: Sequence[tuple[str, str]]
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class AuditRecord(NewEntry):
    """A stored entry: what was said, its number in the log and its time."""

    id: int
    at_us: int
    objects: list[tuple[str, str]]


def append(conn: Connection, entries: Sequence[NewEntry]) -> None:
    """Append ``entries``, in order, inside the caller's (write) transaction: one
    lock, one read of the chain's head and one insert for all of them."""
    if not entries:
        return
    if conn.dialect.name == "postgresql":
        # Serialise appenders so that the chain is linear.
        conn.execute(
            text("SELECT last_us FROM clock WHERE id = :id FOR UPDATE"), {"id": _AUDIT_LOCK_ROW}
        )
    prev = (
        conn.execute(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
        or GENESIS
    )
    at = now_us()
    rows = []
    for entry in entries:
        objects_json = orjson.dumps([list(o) for o in entry.objects]).decode()
        tlp_value = None if entry.tlp is None else int(entry.tlp)
        entry_hash = _hash(
            prev,
            at,
            entry.org_id,
            entry.actor,
            entry.action,
            entry.api_root,
            entry.collection_id,
            tlp_value,
            objects_json,
            entry.detail,
        )
        rows.append(
            {
                "at_us": at,
                "org_id": entry.org_id,
                "actor": entry.actor,
                "action": entry.action,
                "api_root": entry.api_root,
                "collection_id": entry.collection_id,
                "tlp": tlp_value,
                "object_count": len(entry.objects),
                "objects": objects_json,
                "detail": entry.detail,
                "prev_hash": prev,
                "entry_hash": entry_hash,
            }
        )
        prev = entry_hash
    conn.execute(_INSERT, rows)


def _hash(
    prev: str,
    at: int,
    org_id: int | None,
    actor: str,
    action: str,
    api_root: str | None,
    collection_id: str | None,
    tlp: int | None,
    objects_json: str,
    detail: str,
) -> str:
    payload = orjson.dumps(
        [prev, at, org_id, actor, action, api_root, collection_id, tlp, objects_json, detail]
    )
    return hashlib.sha256(payload).hexdigest()


def entries(
    engine: Engine,
    *,
    since_us: int | None = None,
    org_id: int | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[AuditRecord]:
    """Audit entries, oldest first."""
    query = select(AuditEntry).order_by(AuditEntry.id)
    if since_us is not None:
        query = query.where(AuditEntry.at_us >= since_us)
    if org_id is not None:
        query = query.where(AuditEntry.org_id == org_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if limit is not None:
        query = query.limit(limit)
    with Session(engine) as session:
        rows = list(session.scalars(query))
    return [_record(r) for r in rows]


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at_us=row.at_us,
        org_id=row.org_id,
        actor=row.actor,
        action=row.action,
        api_root=row.api_root,
        collection_id=row.collection_id,
        tlp=None if row.tlp is None else Tlp(row.tlp),
        objects=[(o[0], o[1]) for o in orjson.loads(row.objects)],
        detail=row.detail,
    )


def verify_chain(engine: Engine) -> tuple[int, int | None]:
    """(entries checked, id of the first broken entry or None)."""
    with Session(engine) as session:
        rows: Iterable[AuditEntry] = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        prev = GENESIS
        count = 0
        for row in rows:
            count += 1
            expected = _hash(
                prev,
                row.at_us,
                row.org_id,
                row.actor,
                row.action,
                row.api_root,
                row.collection_id,
                row.tlp,
                row.objects,
                row.detail,
            )
            if row.prev_hash != prev or row.entry_hash != expected:
                return count, row.id
            prev = row.entry_hash
    return count, None
