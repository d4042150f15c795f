"""What a federated peer node's token may read, on every read path, on SQLite
and PostgreSQL: CLEAR and GREEN; AMBER only where the collection's policy
names the peer; never AMBER+STRICT or RED (even when the RED recipients name
the peer's organisation); never what the peer itself sent; nothing written.
Every page served to a peer is audited, whatever its TLP."""

from __future__ import annotations

import pytest

from telsec.federation.peers import add_peer, update_peer
from telsec.members import audit
from telsec.members.service import find_organisation
from telsec.stix.tlp import Tlp

from .helpers import AMBER_DEFAULT, SHARED, Api, indicator


@pytest.fixture
def api(coalition):
    return Api(coalition.database)


def test_peer_reads_only_what_may_cross_a_border(coalition, api) -> None:
    engine = coalition.database.engine
    _, peer_token = add_peer(
        engine, "fcc-node", "https://fcc.example", token=None, pull=[], into="shared"
    )
    peer_identity = find_organisation(engine, "peer:fcc-node").identity_id
    objects = {level: indicator(level) for level in Tlp}
    unmarked = indicator(None)  # the collection's default, GREEN
    # RED that names the peer's organisation as recipient; naming it as creator
    # is refused (a member posts only in its own name)
    red_for_peer = indicator(Tlp.RED, recipients=[peer_identity])
    red_by_peer = indicator(Tlp.RED, created_by_ref=peer_identity)
    ofcom = coalition.token("Ofcom")
    api.add(SHARED, ofcom, [*objects.values(), unmarked, red_for_peer])
    assert api.add(SHARED, ofcom, [red_by_peer])["failure_count"] == 1

    def seen(**params: str) -> set[str]:
        response = api.objects(SHARED, peer_token, **params)
        assert response.status_code == 200, response.text
        return {o["id"] for o in response.json().get("objects", [])}

    green_and_below = {objects[Tlp.CLEAR]["id"], objects[Tlp.GREEN]["id"], unmarked["id"]}
    assert seen() == green_and_below
    assert seen(**{"match[version]": "all"}) == green_and_below
    manifest = api.manifest(SHARED, peer_token).json().get("objects", [])
    assert {m["id"] for m in manifest} == green_and_below
    hidden = [objects[t]["id"] for t in (Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)]
    for oid in [*hidden, red_for_peer["id"], red_by_peer["id"]]:
        assert api.object(SHARED, peer_token, oid).status_code == 404
        assert api.versions(SHARED, peer_token, oid).status_code == 404

    # the collection's policy names the peer: AMBER flows, AMBER+STRICT and RED never
    update_peer(engine, "fcc-node", forward_amber=True)
    assert seen() == green_and_below | {objects[Tlp.AMBER]["id"]}
    # no other collection is visible to the peer, and it cannot write
    assert api.objects(AMBER_DEFAULT, peer_token).status_code == 404
    refused = api.post(f"{SHARED}/objects/", peer_token, [indicator(Tlp.CLEAR)])
    assert refused.status_code == 403

    served = audit.entries(engine, action="federate-out")
    levels = {e.tlp for e in served}
    assert {Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER} <= levels
    assert not levels & {Tlp.AMBER_STRICT, Tlp.RED}
