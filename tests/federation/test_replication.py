"""Two real nodes (``telsec serve`` on loopback), synced one feed at a time.

The test process drives :func:`telsec.federation.sync.sync_peer` against the
other node's real server (the nodes' own loops are off, so each step is
deterministic) and reads both databases to check what arrived, what did not,
and what was recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from telsec.federation.peers import get_peer
from telsec.federation.sync import sync_peer
from telsec.members import audit
from telsec.stix.tlp import Tlp
from telsec.storage.models import StixObject
from tests.federation.cluster import Node, pair
from tests.interop.hub import attack_pattern

LEVELS = [Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED, None]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def nodes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """The UK node on SQLite; the US node on SQLite, then on PostgreSQL."""
    uk = Node("uk", tmp_path / "uk", serve_args=["--no-sync"]).create()
    us = Node("us", tmp_path / "us", serve_args=["--no-sync"], backend=request.param).create()
    try:
        uk.with_proxy().start()
        us.with_proxy().start()
        # uk lets us have AMBER; us shares only CLEAR and GREEN with uk
        pair(uk, us, amber_to_b=True)
        yield uk, us
    finally:
        uk.stop()
        us.stop()


def one_of_each(node: Node) -> dict[str, Tlp | None]:
    """Post one object at every TLP level (and one unmarked); their ids -> level."""
    posted: dict[str, Tlp | None] = {}
    objects = []
    for level in LEVELS:
        label = "unmarked" if level is None else level.label
        recipients = ["identity--" + str(uuid.uuid4())] if level == Tlp.RED else []
        obj = attack_pattern(f"{node.name} {label}", tlp=level, recipients=recipients)
        objects.append(obj)
        posted[obj["id"]] = level
    node.post(objects)
    return posted


def ids_at(node: Node) -> set[str]:
    return {stix_id for stix_id, _ in node.versions()}


def stored_tlp(node: Node, stix_id: str) -> int | None:
    with node.db.engine.connect() as conn:
        return conn.execute(select(StixObject.tlp).where(StixObject.stix_id == stix_id)).scalar()


def test_tlp_holds_in_both_directions(nodes: tuple[Node, Node]) -> None:
    uk, us = nodes
    from_uk, from_us = one_of_each(uk), one_of_each(us)
    [outcome] = sync_peer(us.db.engine, "uk")
    assert outcome.error is None and outcome.rejected == 0
    [back] = sync_peer(uk.db.engine, "us")
    assert back.error is None

    allowed_at_us = {i for i, t in from_uk.items() if t in (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, None)}
    assert ids_at(us) == set(from_us) | allowed_at_us
    # us does not share AMBER with uk, and nothing of uk's comes back to it
    allowed_at_uk = {i for i, t in from_us.items() if t in (Tlp.CLEAR, Tlp.GREEN, None)}
    assert ids_at(uk) == set(from_uk) | allowed_at_uk
    assert back.duplicates == 0

    # an unmarked object crosses the border as AMBER (the sender's default is unknown)
    [unmarked] = [i for i, t in from_uk.items() if t is None]
    assert stored_tlp(us, unmarked) == int(Tlp.AMBER)
    # ... so us, which shares no AMBER with uk, does not send its own unmarked
    # object back as anything weaker than what uk stores
    [us_unmarked] = [i for i, t in from_us.items() if t is None]
    assert stored_tlp(uk, us_unmarked) == int(Tlp.AMBER)


def test_versions_revocations_and_no_double_storage(nodes: tuple[Node, Node]) -> None:
    uk, us = nodes
    oid = f"attack-pattern--{uuid.uuid4()}"
    stamps = ["2025-03-01T00:00:00.000Z", "2025-03-02T00:00:00.000Z", "2025-03-03T00:00:00.000Z"]
    uk.post([attack_pattern("v1", object_id=oid, created=stamps[0], tlp=Tlp.GREEN)])
    assert sync_peer(us.db.engine, "uk")[0].stored == 1
    newer = attack_pattern(
        "v2", object_id=oid, created=stamps[0], modified=stamps[1], tlp=Tlp.GREEN
    )
    revoked = attack_pattern(
        "v3", object_id=oid, created=stamps[0], modified=stamps[2], tlp=Tlp.GREEN
    )
    revoked["revoked"] = True
    uk.post([newer, revoked])
    [outcome] = sync_peer(us.db.engine, "uk")
    assert (outcome.stored, outcome.duplicates) == (2, 0)
    # synced again: nothing new, nothing stored twice
    [again] = sync_peer(us.db.engine, "uk")
    assert (again.pages, again.stored) == (0, 0)
    with us.db.engine.connect() as conn:
        rows = conn.execute(
            select(StixObject.version, StixObject.is_latest, StixObject.revoked).where(
                StixObject.stix_id == oid
            )
        ).all()
    assert len(rows) == 3
    [latest] = [r for r in rows if r.is_latest]
    assert latest.revoked
    # the cursor is persisted: the peer's date_added of the last page
    [feed] = get_peer(us.db.engine, "uk").feeds
    assert feed.cursor is not None and feed.stored == 3


@pytest.mark.parametrize("mode", ["down", "error", "truncate", "slow"])
def test_a_failing_peer_loses_nothing(nodes: tuple[Node, Node], mode: str) -> None:
    uk, us = nodes
    batch = [attack_pattern(f"obj {n}", tlp=Tlp.GREEN) for n in range(2500)]
    uk.post(batch)
    assert uk.proxy is not None
    uk.proxy.mode = mode
    [failed] = sync_peer(us.db.engine, "uk", page_size=1000, timeout=0.5)
    assert failed.error is not None
    assert failed.stored == 0
    [feed] = get_peer(us.db.engine, "uk").feeds
    assert feed.last_error == failed.error and feed.cursor is None
    uk.proxy.mode = "pass"
    [recovered] = sync_peer(us.db.engine, "uk", page_size=1000)
    assert recovered.error is None and recovered.pages == 3
    assert {o["id"] for o in batch} <= ids_at(us)
    assert get_peer(us.db.engine, "uk").feeds[0].last_error is None


def test_bad_and_forbidden_objects_are_refused_and_counted(nodes: tuple[Node, Node]) -> None:
    uk, us = nodes
    good = [attack_pattern(f"good {n}", tlp=Tlp.CLEAR) for n in range(20)]
    uk.post(good)
    assert uk.proxy is not None
    uk.proxy.mode = "bad"  # adds an invalid object, a non-object and a RED object
    [outcome] = sync_peer(us.db.engine, "uk")
    assert outcome.error is None
    assert (outcome.stored, outcome.rejected) == (20, 3)
    assert any("TLP:RED never leaves" in r for r in outcome.reasons)
    assert ids_at(us) >= {o["id"] for o in good}
    assert "attack-pattern--6b0e8a4e-0000-4000-8000-00000000aaaa" not in ids_at(us)
    assert get_peer(us.db.engine, "uk").feeds[0].rejected == 3


def test_a_peer_cannot_rewrite_this_nodes_objects(nodes: tuple[Node, Node]) -> None:
    uk, us = nodes
    oid = f"attack-pattern--{uuid.uuid4()}"
    uk.post([attack_pattern("ours", object_id=oid, tlp=Tlp.GREEN)])
    # us's own member posts a "newer version" of uk's object before it syncs
    forged = attack_pattern(
        "forged", object_id=oid, modified="2026-01-01T00:00:00.000Z", tlp=Tlp.GREEN
    )
    us.post([forged])
    [outcome] = sync_peer(uk.db.engine, "us")
    assert outcome.rejected == 1 and "another producer" in outcome.reasons[0]
    with uk.db.engine.connect() as conn:
        names = conn.execute(select(StixObject.body).where(StixObject.stix_id == oid)).scalars()
        assert ["forged" in body for body in names] == [False]


def test_peer_tokens_read_only_and_every_transfer_audited(nodes: tuple[Node, Node]) -> None:
    uk, us = nodes
    one_of_each(uk)
    sync_peer(us.db.engine, "uk")
    # the token us presents to uk reads, never writes
    from telsec.federation.peers import peer_secret

    token = peer_secret(us.db.engine, "uk").token
    response = httpx.post(
        f"{uk.url}/coalition/collections/coalition/objects/",
        json={"objects": [attack_pattern("from a peer token", tlp=Tlp.CLEAR)]},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/taxii+json;version=2.1",
            "Content-Type": "application/taxii+json;version=2.1",
        },
    )
    assert response.status_code == 403
    out = audit.entries(uk.db.engine, action="federate-out")
    into = audit.entries(us.db.engine, action="federate-in")
    sent = {(oid, v) for e in out for oid, v in e.objects}
    received = {(oid, v) for e in into for oid, v in e.objects}
    assert sent and received
    # both sides recorded the same four objects (CLEAR, GREEN, AMBER, unmarked)
    assert {oid for oid, _ in sent} == {oid for oid, _ in received}
    assert len({oid for oid, _ in sent}) == 4
    assert all(e.actor.startswith("token:") for e in out)
    assert all(e.actor == "peer:uk" for e in into)
    assert audit.verify_chain(uk.db.engine)[1] is None
