"""Bring a node's database to a usable state: schema, node identity, vocabulary.

Every API root gets a vocabulary collection holding the node's own objects
(TLP 2.0 markings, the telecom extension-definitions, the telsec identity and
the FiGHT/MoTIF attack-patterns), produced by the node's own organisation.
Running it again changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from telsec.exchange import store
from telsec.members import service
from telsec.members.auth import Principal
from telsec.stix.tlp import Tlp
from telsec.stix.validate import validate
from telsec.stix.vocabulary import vocabulary_objects
from telsec.storage.db import read_transaction, upgrade, write_transaction
from telsec.storage.models import ApiRoot, Collection

NODE_ORG = "telsec-node"
VOCABULARY_TITLE = "telsec vocabulary"


def node_organisation(engine: Engine) -> service.OrgInfo:
    try:
        return service.find_organisation(engine, NODE_ORG)
    except service.MembersError:
        return service.add_organisation(engine, NODE_ORG)


def ensure_vocabulary(engine: Engine) -> int:
    """Create missing vocabulary collections and fill them; returns objects added."""
    org = node_organisation(engine)
    node = Principal(org.id, org.name, org.identity_id, "admin", "system:bootstrap")
    with read_transaction(engine) as conn:
        roots = conn.execute(select(ApiRoot.id, ApiRoot.name)).all()
        existing = {
            row.api_root_id: row
            for row in conn.execute(
                select(Collection.api_root_id, Collection.id, Collection.collection_id).where(
                    Collection.is_vocabulary.is_(True)
                )
            )
        }
    objects = vocabulary_objects()
    added = 0
    for root in roots:
        if root.id in existing:
            pk, cid = existing[root.id].id, existing[root.id].collection_id
        else:
            info = service.add_collection(
                engine,
                root.name,
                VOCABULARY_TITLE,
                read=[],
                write=[],
                default_tlp=Tlp.CLEAR,
                description="TLP 2.0 markings, telecom extension-definitions and "
                "MITRE FiGHT / GSMA MoTIF techniques published by this node",
                alias="vocabulary",
                is_vocabulary=True,
            )
            pk, cid = info.pk, info.id
        scope = store.CollectionScope(pk, cid, root.name, Tlp.CLEAR, True, True)
        with write_transaction(engine) as conn:
            before = store.count_objects(conn, pk)
            result = store.ingest(conn, scope, node, objects, validate)
            added += store.count_objects(conn, pk) - before
        if result.failures:
            raise RuntimeError(f"vocabulary objects rejected: {result.failures[:3]}")
    return added


def prepare(engine: Engine) -> None:
    """Migrate the schema to the newest revision and publish the vocabulary."""
    upgrade(engine)
    ensure_vocabulary(engine)
