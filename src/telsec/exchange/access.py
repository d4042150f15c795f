"""Which API roots and collections a principal may see, read and write.

An API root is visible to an organisation that holds a grant on at least one
of its collections; a collection is visible to an organisation holding a
read or write grant on it.  Each API root's vocabulary collection (the node's
own TLP markings, extension definitions and techniques) is readable by every
organisation that can see the root, and writable by none over TAXII.
Anything else is answered as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from telsec.exchange.store import CollectionScope
from telsec.members.auth import Principal
from telsec.stix.tlp import Tlp
from telsec.storage.models import ApiRoot, Collection, Grant


@dataclass(frozen=True)
class RootInfo:
    pk: int
    name: str
    title: str
    description: str
    max_content_length: int


@dataclass(frozen=True)
class VisibleCollection:
    scope: CollectionScope
    title: str
    description: str
    alias: str | None
    is_vocabulary: bool = False


def visible_roots(conn: Connection, principal: Principal) -> list[RootInfo]:
    granted = (
        select(Collection.api_root_id)
        .join(Grant, Grant.collection_pk == Collection.id)
        .where(Grant.org_id == principal.org_id)
    )
    rows = conn.execute(
        select(
            ApiRoot.id, ApiRoot.name, ApiRoot.title, ApiRoot.description, ApiRoot.max_content_length
        )
        .where(ApiRoot.id.in_(granted))
        .order_by(ApiRoot.name)
    ).all()
    return [RootInfo(*row) for row in rows]


def find_root(conn: Connection, name: str, principal: Principal) -> RootInfo | None:
    for root in visible_roots(conn, principal):
        if root.name == name:
            return root
    return None


def visible_collections(
    conn: Connection, root: RootInfo, principal: Principal
) -> list[VisibleCollection]:
    rows = conn.execute(
        select(
            Collection.id,
            Collection.collection_id,
            Collection.title,
            Collection.description,
            Collection.alias,
            Collection.default_tlp,
            Collection.is_vocabulary,
            Grant.can_read,
            Grant.can_write,
            Grant.share_amber,
        )
        .outerjoin(
            Grant, (Grant.collection_pk == Collection.id) & (Grant.org_id == principal.org_id)
        )
        .where(Collection.api_root_id == root.pk)
        .order_by(Collection.id)
    ).all()
    result = []
    for coll in rows:
        grant_read, grant_write = coll.can_read, coll.can_write
        if coll.is_vocabulary:
            grant_read, grant_write = True, False
        if not (grant_read or grant_write):
            continue
        ceiling, exclude = Tlp.RED, None
        if principal.is_peer:
            # A peer node reads, never writes; it gets CLEAR and GREEN, AMBER
            # where the collection's policy names it, never AMBER+STRICT or
            # RED, and not what it sent itself.
            grant_write = False
            ceiling = Tlp.AMBER if coll.share_amber else Tlp.GREEN
            exclude = principal.org_id
        result.append(
            VisibleCollection(
                scope=CollectionScope(
                    pk=coll.id,
                    id=coll.collection_id,
                    api_root=root.name,
                    default_tlp=Tlp(coll.default_tlp),
                    can_read=bool(grant_read),
                    # A reader-role token of a writing organisation may not write.
                    can_write=bool(grant_write) and principal.can_write,
                    tlp_ceiling=ceiling,
                    exclude_producer=exclude,
                ),
                title=coll.title,
                description=coll.description,
                alias=coll.alias,
                is_vocabulary=bool(coll.is_vocabulary),
            )
        )
    return result


def readable_collections(conn: Connection, principal: Principal) -> list[VisibleCollection]:
    """Every collection, in every API root, that ``principal`` may read."""
    return [
        coll
        for root in visible_roots(conn, principal)
        for coll in visible_collections(conn, root, principal)
        if coll.scope.can_read
    ]


def find_collection(
    conn: Connection, root: RootInfo, collection_id: str, principal: Principal
) -> VisibleCollection | None:
    for coll in visible_collections(conn, root, principal):
        if coll.scope.id == collection_id or (coll.alias and coll.alias == collection_id):
            return coll
    return None
